// The leader-loss scenario, run against a replicated store (etcd, ZooKeeper): three registrar
// instances on the real clock, each with its own client of the cluster and its own sweeper, take
// registrations, heartbeats and operator changes from concurrent clients while the store's leader
// is killed with SIGKILL and later started again, twice. It checks that:
// - every answer is a 2xx or a 503: never a 409 (the epoch never changes, no machine ids are reused)
//   nor any other status, whatever the store went through;
// - every acknowledged registration and change is in the registry afterwards, read through a new
//   client after the second election (whose quorum needs the member that was down for the first);
// - writes resume by themselves within a deadline sized from the store's election time.
// It returns the measured unavailability windows.
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../src/clock.ts';
import { createMaster } from '../../src/master/index.ts';
import type { AgentRecord, Policy } from '../../src/registry/index.ts';
import { createRegistrar } from '../../src/registrar.ts';
import { type Store, listAll } from '../../src/store.ts';
import { eventually } from '../support/eventually.ts';
import { defaultPolicy, JOIN, OPERATOR } from '../support/master.ts';

export interface Member {
  name: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

export interface ReplicatedStore {
  name: string;
  /** A new client of the whole cluster whose calls wait at most `timeoutMs`. */
  open(timeoutMs: number): Promise<Store>;
  /** The member that leads now (waits for one). */
  leader(): Promise<Member>;
  /** Waits until a restarted member serves again. */
  serving(member: Member): Promise<void>;
  /** How long writes may stay unavailable after the leader's loss: from the store's election time. */
  resumeWithinMs: number;
}

/**
 * How long a registrar retries a store call that failed: shorter than an election, so that requests
 * during one answer 503 (and lost answers are resolved or refused) instead of waiting it out.
 */
const RETRY_DEADLINE_MS = 500;
/** How long the registrars' store calls may take: shorter than an election too. */
export const STORE_TIMEOUT_MS = 500;
/** For opening clients and the final reads, on a machine that may be loaded. */
const PATIENT_TIMEOUT_MS = 5_000;

/** Slow enough for a loaded 2-core machine, and with a lease and agent timeout far longer than an election. */
const POLICY: Partial<Policy> = {
  heartbeatInterval: 1_000,
  livenessGranularity: 1_000,
  sweepInterval: 500,
  maxClockSkew: 200,
  masterLease: 30_000,
  agentTimeout: 60_000,
};

type Op = 'register' | 'heartbeat' | 'deactivate';
interface Exchange {
  op: Op;
  agentId?: string;
  started: number;
  ended: number;
  status: number;
}
interface Agent {
  id: string;
  secret: string;
  epoch: number;
}

export interface LeaderLossReport {
  /** ms from each SIGKILL to the end of the first write that started after it and succeeded. */
  windows: number[];
  requests: number;
  unavailable: number;
}

export async function leaderLoss(cluster: ReplicatedStore): Promise<LeaderLossReport> {
  const policy = { ...defaultPolicy(), ...POLICY };
  // Opening writes the store's layout, with calls slower than the registrars' on a cold server.
  const stores = await Promise.all([1, 2, 3].map(() => opening(cluster, STORE_TIMEOUT_MS)));
  const instances = stores.map((store) => {
    const registrar = createRegistrar({ store, clock: systemClock, policy, retryDeadlineMs: RETRY_DEADLINE_MS });
    const app = createMaster({ registrar, tokens: { join: [{ label: 'join', token: JOIN }], operator: [{ label: 'ops', token: OPERATOR }] } });
    return { registrar, app };
  });
  const exchanges: Exchange[] = [];
  const agents: Agent[] = [];
  const deactivated = new Set<string>();
  let running = true;
  const violations: string[] = [];

  // Sweepers, as the Node server runs them: start to start, failures logged and forgotten.
  const sweepers = instances.map(async ({ registrar }) => {
    while (running) {
      const started = Date.now();
      await registrar.sweep().catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.max(0, policy.sweepInterval - (Date.now() - started))));
    }
  });
  // The sweepers write the master record first; registrations answer 503 until then.
  await eventually('the master record, written by a first sweep', () => stores[0]!.get('master').then((m) => (m ? 'written' : 'absent'), (e: unknown) => String(e)), (seen) => seen === 'written', { within: 30_000, every: 100 });

  const call = async (op: Op, path: string, token: string, body: unknown, agentId?: string) => {
    const { app } = instances[Math.floor(Math.random() * instances.length)]!;
    const started = Date.now();
    const res = await app.request(path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json().catch(() => undefined)) as Record<string, any> | undefined;
    const exchange: Exchange = { op, ...(agentId ? { agentId } : {}), started, ended: Date.now(), status: res.status };
    exchanges.push(exchange);
    if (!(res.status === 503 || (op === 'register' ? res.status === 201 : res.status === 200))) {
      violations.push(`${op}${agentId ? ` ${agentId}` : ''} answered ${res.status} ${JSON.stringify(json)}`);
    }
    return { exchange, json };
  };
  const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

  const register = async () => {
    const { exchange, json } = await call('register', '/api/v1/agents', JOIN, { hostname: `host-${randomUUID().slice(0, 8)}` });
    if (exchange.status === 201) {
      exchange.agentId = json!.agentId;
      agents.push({ id: json!.agentId, secret: json!.secret, epoch: json!.epoch });
    }
  };
  const bursts: Promise<void>[] = [];
  const client = async () => {
    while (running) {
      const roll = Math.random();
      const agent = pick(agents);
      if (!agent || roll < 0.4) {
        await register();
      } else if (roll < 0.85) {
        await call('heartbeat', `/api/v1/agents/${agent.id}/heartbeat`, agent.secret, { epoch: agent.epoch }, agent.id);
      } else if (!deactivated.has(agent.id)) {
        const { exchange } = await call('deactivate', `/api/v1/agents/${agent.id}/deactivate`, OPERATOR, { reason: 'cluster test' }, agent.id);
        if (exchange.status === 200) deactivated.add(agent.id);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const clients = Array.from({ length: 4 }, client);

  const isWrite = (e: Exchange) => e.op !== 'heartbeat';
  const writesAfter = (t: number) => exchanges.filter((e) => isWrite(e) && e.started > t && e.status < 300);
  const windows: number[] = [];
  try {
    await eventually('20 acknowledged writes before any failure', () => writesAfter(0).length, (n) => n >= 20, { within: 30_000 });
    for (let round = 0; round < 2; round++) {
      const leader = await cluster.leader();
      // A burst of registrations just before the kill, so that some commits are in flight when
      // the leader dies and their answers are lost.
      const burst = Array.from({ length: 12 }, () => register());
      await new Promise((r) => setTimeout(r, 5 + 10 * Math.random()));
      const killedAt = Date.now();
      await leader.kill();
      bursts.push(...burst);
      const first = await eventually(
        `a write acknowledged after ${leader.name} (the leader) was killed`,
        () => writesAfter(killedAt)[0],
        (e) => e !== undefined,
        { within: cluster.resumeWithinMs, every: 20 },
      );
      windows.push(first!.ended - killedAt);
      const resumed = Date.now();
      await eventually('10 more acknowledged writes', () => writesAfter(resumed).length, (n) => n >= 10, { within: 20_000 });
      await leader.restart();
      await cluster.serving(leader);
      const back = Date.now();
      await eventually(`10 acknowledged writes with ${leader.name} back`, () => writesAfter(back).length, (n) => n >= 10, { within: 20_000 });
    }
  } finally {
    running = false;
    await Promise.all([...clients, ...sweepers, ...bursts]);
  }

  // What a fresh client reads: every acknowledged registration and change is there.
  const check = await opening(cluster, PATIENT_TIMEOUT_MS);
  try {
    const records = new Map<string, AgentRecord>();
    await eventually('a full read of the registry', async () => {
      records.clear();
      try {
        for await (const item of listAll<AgentRecord>(check, 'agents/')) records.set(item.value.id, item.value);
        return 'read';
      } catch (error) {
        return String(error);
      }
    }, (seen) => seen === 'read', { within: 30_000 });
    for (const agent of agents) {
      const record = records.get(agent.id);
      if (!record) violations.push(`registration of ${agent.id} was acknowledged but is lost`);
      else if (record.status !== 'admitted') violations.push(`${agent.id} is ${record.status}`);
    }
    for (const id of deactivated) if (!records.get(id)?.deactivated) violations.push(`deactivation of ${id} was acknowledged but is lost`);
    // An acknowledged heartbeat left a lastSeenAt no older than the granularity (rule 2).
    for (const e of exchanges) {
      const record = e.op === 'heartbeat' && e.status === 200 ? records.get(e.agentId!) : undefined;
      if (record && record.lastSeenAt < e.started - policy.livenessGranularity - policy.maxClockSkew) {
        violations.push(`heartbeat of ${e.agentId} at ${e.started} was acknowledged, but lastSeenAt is ${record.lastSeenAt}`);
      }
    }
  } finally {
    await check.close();
    await Promise.all(stores.map((s) => s.close()));
  }
  if (violations.length > 0) throw new Error(`${cluster.name}: ${violations.length} violations:\n${violations.slice(0, 20).join('\n')}`);
  const unavailable = exchanges.filter((e) => e.status === 503).length;
  console.log(`${cluster.name}: writes unavailable for ${windows.map((w) => `${w} ms`).join(' and ')} after each leader's loss; ${exchanges.length} requests, ${unavailable} answered 503, ${agents.length} agents admitted, ${deactivated.size} deactivated, none lost`);
  return { windows, requests: exchanges.length, unavailable };
}

/** A client of the cluster, opened again until it opens (the first calls to a JVM that just started are slow). */
async function opening(cluster: ReplicatedStore, timeoutMs: number): Promise<Store> {
  let store: Store | undefined;
  await eventually(`a client of ${cluster.name}`, async () => {
    try {
      store = await cluster.open(timeoutMs);
      return 'open';
    } catch (error) {
      return String(error);
    }
  }, (seen) => seen === 'open', { within: 30_000, every: 200 });
  return store!;
}
