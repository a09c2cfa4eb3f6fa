// Issue 13's goals beside what the bench measured: one row a goal, each with a key (results.json's
// `goals` are keyed by it), the measured number, the target and whether it is met. A goal the run
// did not measure (HTTP skipped, no LevelDB) has no row.
import type { PlatformCost } from './cost.ts';
import { reads, writes } from './counting-store.ts';
import type { HttpResult } from './http.ts';
import type { OperationProfile } from './operations.ts';
import { DESIGN_SHARDS, type ShardSimulation } from './shards.ts';
import type { StormResult } from './storm.ts';
import { fmt, met } from './support.ts';

export interface InProcess {
  store: 'memory' | 'leveldb';
  agents: number;
  registrationsPerSecond: number;
  /** The store's own conditional put (expect absent) of a record as large as an agent's, one at a time. */
  rawPutsPerSecond: number;
  /** Heartbeats without a ticket (the first after registration), with one and no write due, with one and a lastSeenAt write due. */
  heartbeatsFirstPerSecond: number;
  heartbeatsTicketPerSecond: number;
  heartbeatsWritePerSecond: number;
  sweepMs: number;
  /** GET /api/v1/master's registrar call: the counts kept in `master`, one read. */
  statusMs: number;
  /** `registrar.countAgents`: every record read. */
  countMs: number;
  countHeapMiB: number;
  /** Live heap after registering and heartbeating, per agent (the bench's own list of the agents included). */
  heapBytesPerAgent: number;
  /** The bench's own list of agents (its side of the protocol), weighed apart. */
  listBytesPerAgent: number;
  /** LevelDB only: reopen the store, the first sweep (as `npm start` does before it serves) and one heartbeat answered. */
  coldStartMs?: number;
}

export interface Goal {
  goal: string;
  measured: number;
  /** How the table shows the number: a plain number, a percentage of 1. */
  unit: 'number' | 'percent';
  target: string;
  met: boolean;
  note?: string;
}

export const slug = (platform: string) => platform.toLowerCase().replace(/[^a-z0-9]+/g, '-');

export function goals(r: { http?: HttpResult; operations: OperationProfile; spread: OperationProfile; costs: PlatformCost[]; storm: StormResult; shards: ShardSimulation }): Record<string, Goal> {
  const out: Record<string, Goal> = {};
  const add = (key: string, goal: Omit<Goal, 'unit'> & { unit?: Goal['unit'] }) => {
    out[key] = { unit: 'number', ...goal };
  };
  const { http, operations: ops, spread, costs, storm } = r;
  if (http) {
    const throughput = http.server.requestsPerSecond / http.bare.requestsPerSecond;
    // autocannon's latencies are whole milliseconds: a bare p99 of 0 counts as 1.
    const p99 = http.server.p99 / Math.max(1, http.bare.p99);
    const note = `${fmt(http.server.requestsPerSecond)} vs ${fmt(http.bare.requestsPerSecond)}/s, p99 ${fmt(http.server.p99)} vs ${fmt(http.bare.p99)} ms (${http.store})`;
    add('http.throughputRatio', { goal: 'HTTP heartbeats/s: server ÷ bare Hono', measured: throughput, target: '≥ 0.8', met: throughput >= 0.8, note });
    add('http.p99Ratio', { goal: 'HTTP p99 latency: server ÷ bare Hono', measured: p99, target: '≤ 2', met: p99 <= 2 });
    add('http.failed', { goal: 'HTTP heartbeats not answered 200', measured: http.server.non2xx + http.server.errors, target: '0', met: http.server.non2xx + http.server.errors === 0 });
  }
  const hbReads = reads(ops.perHeartbeat);
  const hbWrites = writes(ops.perHeartbeat);
  const at = `${fmt(ops.agents)} agents, ${ops.minutes} simulated min`;
  add('heartbeat.reads', { goal: 'store reads per heartbeat (one instance)', measured: hbReads, target: '≤ 0.05', met: hbReads <= 0.05, note: at });
  const spreadReads = reads(spread.perHeartbeat);
  add('heartbeat.readsSpread', { goal: `store reads per heartbeat (${spread.instances} instances, no affinity)`, measured: spreadReads, target: '≤ 0.05', met: spreadReads <= 0.05, note: `agent records ${fmt(spread.perHeartbeat.agentGets)}; the rest is each instance reading master about once a lease (rule 3)` });
  add('heartbeat.writes', { goal: 'store writes per heartbeat', measured: hbWrites, target: '≤ 0.25', met: hbWrites <= 0.25, note: at });
  add('simulation.refused', { goal: 'heartbeats refused (rules 2–8: none in a healthy fleet)', measured: ops.failed, target: '0', met: ops.failed === 0 });
  add('simulation.marked', { goal: 'live agents marked unreachable', measured: ops.marked, target: '0', met: ops.marked === 0 });
  const sweepPerAgent = reads(ops.perSweep) / ops.agents;
  add('sweep.readsPerAgent', { goal: 'store reads per sweep, per agent', measured: sweepPerAgent, target: 'small: ≤ 0.1', met: sweepPerAgent <= 0.1, note: `${fmt(reads(ops.perSweep))} reads a sweep of ${fmt(ops.agents)}` });
  // Each platform at its largest fleet.
  const largest = (platform: string) => Math.max(...costs.filter((c) => c.platform === platform).map((c) => c.agents));
  for (const c of costs.filter((c) => c.agents === largest(c.platform))) {
    const share = c.sweep / c.heartbeat;
    add(`sweep.costShare.${slug(c.platform)}`, { goal: `sweeps ÷ heartbeats in $: ${c.platform}, ${fmt(c.agents)}`, measured: share, unit: 'percent', target: '< 10%', met: share < 0.1, note: `${fmt(c.sweepReads.perSweep)} ${c.sweepReads.unit} a sweep` });
  }
  const masterReads = reads(ops.perMasterGet);
  const masterPerAgent = ops.perMasterGet.listItems / ops.agents;
  add('master.reads', { goal: 'store reads per GET /api/v1/master', measured: masterReads, target: 'O(1): ≤ 3', met: masterReads <= 3 && masterPerAgent === 0, note: `${fmt(masterPerAgent)} per agent` });
  for (const c of costs) {
    const ratio = c.total / c.floor;
    add(`cost.${slug(c.platform)}.${c.agents}`, { goal: `$ ÷ request floor: ${c.platform}, ${fmt(c.agents)}`, measured: ratio, target: '≤ 1.2', met: ratio <= 1.2, note: `$${((c.total * 1000) / c.agents).toFixed(2)} vs $${((c.floor * 1000) / c.agents).toFixed(2)} per 1,000 a month` });
  }
  const at100k = `${fmt(storm.agents)} agents, ${storm.store}`;
  const registration = storm.registrationsPerSecond / storm.rawPutsPerSecond;
  add('registration.ratio', { goal: `registrations/s ÷ raw conditional puts/s (${at100k})`, measured: registration, target: '≥ 0.8', met: registration >= 0.8, note: `${fmt(storm.registrationsPerSecond)} vs ${fmt(storm.rawPutsPerSecond)}/s` });
  add('storm.seconds', { goal: `re-registration storm after a failover, s (${at100k})`, measured: storm.stormSeconds, target: `≤ ${fmt(storm.windowSeconds)} (the window)`, met: storm.stormSeconds <= storm.windowSeconds, note: `requests waited up to ${fmt(storm.maxQueueMs)} ms` });
  add('storm.falseUnreachable', { goal: 'live agents marked unreachable in the storm', measured: storm.falseUnreachable, target: '0', met: storm.falseUnreachable === 0, note: `${storm.failed} failed answers` });
  add('memory.bytesPerAgent', { goal: `server's live heap per agent, bytes (${at100k})`, measured: storm.heapBytesPerAgent, target: '≤ 1,024', met: storm.heapBytesPerAgent <= 1024, note: 'after the storm, record cache included' });
  const design = r.shards.runs.find((run) => run.shards === DESIGN_SHARDS);
  if (design) {
    const at = `${fmt(r.shards.agents)} agents over ${design.shards} shards, simulated`;
    add('shards.steadyPeak', { goal: `busiest second of one shard, req/s (${at})`, measured: design.steadyPeak, target: `≤ ${fmt(r.shards.ceiling)} (one Durable Object)`, met: design.steadyShed === 0, note: `mean ${fmt(design.steadyMean)}/s; ${fmt(design.steadyShed)} shed` });
    add('shards.failoverSeconds', { goal: `failover: every agent back, s (${at})`, measured: design.failoverSeconds, target: `≤ ${fmt(design.windowSeconds)} (the window)`, met: design.failoverSeconds <= design.windowSeconds, note: `busiest second ${fmt(design.failoverPeak)} offered, ${fmt(design.failoverShed)} shed and retried` });
  }
  add('coldStart.ms', { goal: `cold start, ms (${at100k})`, measured: storm.coldStartMs, target: '≤ 1,000', met: storm.coldStartMs <= 1000, note: 'open, first sweep (a new epoch), a heartbeat answered' });
  return out;
}

/** The goals as table rows: goal, measured, target, met, note. */
export function goalRows(all: Record<string, Goal>): string[][] {
  return Object.values(all).map((g) => [g.goal, g.unit === 'percent' ? `${(g.measured * 100).toFixed(1)}%` : fmt(g.measured), g.target, met(g.met), g.note ?? '']);
}

export const GOAL_HEAD = ['issue 13 goal', 'measured', 'target', 'met', ''];
