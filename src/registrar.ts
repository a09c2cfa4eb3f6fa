// The registrar: the master's official records, kept in a Store (DESIGN.md). One object per
// instance, built by an entry file from its store, clock and policy.
import { agentProtocol } from './registrar/agents.ts';
import { createRegistrarCore, type RegistrarDeps } from './registrar/core.ts';
import { frameworkProtocol } from './registrar/frameworks.ts';
import { operatorApi } from './registrar/operators.ts';
import { createRecordCache } from './registrar/record-cache.ts';
import { createSweeper } from './registrar/sweeper.ts';
import { createTickets } from './registrar/tickets.ts';

/** Agent records an instance keeps for heartbeats' due writes: a few hundred bytes each (src/registrar/record-cache.ts). */
export const RECORD_CACHE_ENTRIES = 100_000;
/**
 * On Lambda and in a Durable Object: their heaps are small (128 MB for an object, whose sweeps need
 * room too), and a miss costs little there (a Durable Object's read is a local row; a Lambda instance
 * without affinity misses most of the time anyway).
 */
export const SERVERLESS_RECORD_CACHE_ENTRIES = 20_000;

export function createRegistrar(deps: RegistrarDeps & { ticketKeys?: string[]; recordCacheEntries?: number }) {
  const core = createRegistrarCore(deps);
  const tickets = createTickets(core, deps.ticketKeys);
  const cache = createRecordCache(deps.recordCacheEntries ?? RECORD_CACHE_ENTRIES);
  return { core, tickets, ...agentProtocol(core, tickets, cache), ...operatorApi(core), ...frameworkProtocol(core), sweep: createSweeper(core) };
}

export type Registrar = ReturnType<typeof createRegistrar>;
export { NoMasterError, RefusedError, agentKey, frameworkKey, AGENT_PREFIX, FRAMEWORK_PREFIX, MASTER_KEY } from './registrar/core.ts';
export type { RegistrarDeps } from './registrar/core.ts';
export { agentView, type AgentFilter, type AgentView } from './registrar/operators.ts';
export type { Registration, Registered } from './registrar/agents.ts';
export { frameworkView, type FrameworkRegistration, type FrameworkRegistered, type FrameworkView } from './registrar/frameworks.ts';
export type { FrameworkSweepReport } from './registrar/framework-sweeper.ts';
export type { SweepReport } from './registrar/sweeper.ts';
export type { Log } from './registrar/core.ts';
