// The sharded design of docs/scaling.md, simulated: a fleet (1,000,000 agents by default) spread
// over N shards (one Durable Object each) by a hash of their ids, one master record, and an edge (the
// Worker) that answers every heartbeat a ticket covers without touching a shard. The registry's
// code is not sharded yet, so this is a model in virtual time, but it runs on the product's rules:
// heartbeats on the agent client's schedule (`heartbeatDelay`, timed start to start), the edge's
// tests `ticketAnswers` and `ticketRefusesEpoch` with tickets as the registrar issues them
// (`ticketClaims`: valid until the committed lastSeenAt plus the granularity), and the rest reaching
// the agent's shard (a due write, a 409 the ticket cannot prove). After `steadySeconds` a failover
// starts a new epoch: each agent's next heartbeat gets a 409 (from the edge while its ticket holds),
// it re-registers at its shard after a random delay of up to an interval (as the client does), and
// heartbeats on with the ticket the re-registration answered. Every shard's requests are counted
// per second; one run for each N.
// `node bench/shards.ts [agents]` prints the table alone.
import { heartbeatDelay } from '../src/agent/client.ts';
import { loadConfig } from '../src/config.ts';
import { ticketAnswers, ticketClaims, ticketRefusesEpoch, type AgentRecord } from '../src/registry/index.ts';
import { prices } from './cost.ts';
import { fmt, formatTable } from './support.ts';

export const SHARD_COUNTS = [16, 32, 64];
/** The shard count the design proposes for 1,000,000 agents (docs/scaling.md). */
export const DESIGN_SHARDS = 32;

export interface ShardRun {
  shards: number;
  agentsPerShard: number;
  /** Requests a second offered to one shard (first tries and retries): the mean and the busiest second of any shard, steady. */
  steadyMean: number;
  steadyPeak: number;
  /** Requests a shard shed with 429 (over its ceiling), steady and in the failover. */
  steadyShed: number;
  failoverShed: number;
  /** The busiest second any shard was offered in the failover. */
  failoverPeak: number;
  /** Seconds from the new epoch until the last agent had re-registered, and the window they had. */
  failoverSeconds: number;
  windowSeconds: number;
  /** Agents back on the new epoch when the run ended. */
  reregistered: number;
  /** Heartbeats the edge answered from their tickets, of all heartbeats in the steady part (retries not counted). */
  edgeShare: number;
  /** Writes a second on the master record: each shard's guard report and the lease, once a sweep interval. */
  masterWritesPerSecond: number;
}

export interface ShardSimulation {
  agents: number;
  steadySeconds: number;
  /** One Durable Object's requests a second (bench/prices.json): each shard takes this many and sheds the rest. */
  ceiling: number;
  runs: ShardRun[];
}

const BEAT = 0;
const REREGISTER = 1;

/**
 * One run: `agents` over `shards`. Each agent's next request is kept in typed arrays (a million
 * agents) and queued in one-second buckets; a shard takes `ceiling` requests a second and answers
 * the rest 429 with `Retry-After: 1`, which the client retries after its backoff (full jitter, capped
 * at the interval, never sooner than Retry-After).
 */
export function simulateShardRun(agents: number, shards: number, opts: { steadySeconds?: number; random?: () => number; progress?: (done: number) => void } = {}): ShardRun {
  const random = opts.random ?? Math.random;
  const { policy } = loadConfig({ REGISTRAR_STORE: 'memory' }, 'worker');
  const interval = policy.heartbeatInterval / 1000;
  const granularity = policy.livenessGranularity / 1000;
  const windowSeconds = policy.reregisterTimeout / 1000;
  const ceiling = prices.assumptions.durableObjectRequestsPerSecond;
  const steadySeconds = opts.steadySeconds ?? 5 * 60;
  const total = steadySeconds + windowSeconds;

  // A hash of a random id is uniform: a random shard stands for it.
  const shard = new Uint16Array(agents);
  const nextAt = new Float64Array(agents);
  const beatStart = new Float64Array(agents);
  const committed = new Float64Array(agents);
  const kind = new Uint8Array(agents);
  const tries = new Uint8Array(agents);
  const epochOf = new Uint32Array(agents);
  const buckets: number[][] = Array.from({ length: total }, () => []);
  const offered = new Int32Array(shards * total);
  const taken = new Int32Array(shards * total);
  const queue = (i: number, at: number) => {
    nextAt[i] = at;
    if (at < total) buckets[Math.floor(at)]!.push(i);
  };

  // The fleet in its steady state: phases spread by registration, each last committed within a granularity.
  let masterEpoch = 1;
  for (let i = 0; i < agents; i++) {
    shard[i] = Math.floor(random() * shards);
    epochOf[i] = masterEpoch;
    committed[i] = -random() * granularity;
    kind[i] = BEAT;
    queue(i, random() * interval);
  }

  // A record as a ticket sees it; only the fields ticketClaims reads change.
  const record = { id: 'agent', status: 'admitted', epoch: 1, lastSeenAt: 0, deactivated: false } as AgentRecord;
  let steadyBeats = 0;
  let steadyAtEdge = 0;
  let steadyShed = 0;
  let failoverShed = 0;
  let reregistered = 0;
  let lastBack = 0;
  /** Whether agent i's shard takes its request this second; if not, it is queued again as the client retries. */
  const reach = (i: number, second: number, now: number): boolean => {
    const cell = shard[i]! * total + second;
    offered[cell]!++;
    if (taken[cell]! < ceiling) {
      taken[cell]!++;
      tries[i] = 0;
      return true;
    }
    if (second < steadySeconds) steadyShed++;
    else failoverShed++;
    const backoff = random() * Math.min(interval, 0.25 * 2 ** Math.min(tries[i]!, 16));
    tries[i] = Math.min(255, tries[i]! + 1);
    queue(i, now + Math.max(backoff, 1));
    return false;
  };

  let end = total;
  for (let second = 0; second < total; second++) {
    // Once every agent is back, one more interval shows the heartbeats after it; then the run ends.
    if (reregistered === agents && second > lastBack + interval) {
      end = second;
      break;
    }
    if (second === steadySeconds) masterEpoch++; // the failover: a new master's first sweep starts an epoch
    const bucket = buckets[second]!;
    // Requests queued into this same second are appended to the bucket and taken in this loop.
    for (let b = 0; b < bucket.length; b++) {
      const i = bucket[b]!;
      const now = nextAt[i]!;
      if (kind[i] === REREGISTER) {
        if (!reach(i, second, now)) continue;
        reregistered++;
        lastBack = now;
        epochOf[i] = masterEpoch;
        committed[i] = now;
        kind[i] = BEAT;
        beatStart[i] = now; // re-registering was a contact; its answer carries a ticket
        queue(i, now + heartbeatDelay(interval, random));
        continue;
      }
      if (tries[i] === 0) {
        beatStart[i] = now;
        if (second < steadySeconds) steadyBeats++; // heartbeats, not their retries after a 429
      }
      record.epoch = epochOf[i]!;
      record.lastSeenAt = committed[i]!;
      const claims = ticketClaims(record, 'v', { livenessGranularity: granularity })!;
      const hb = { epoch: epochOf[i]! };
      if (ticketAnswers(claims, hb, masterEpoch, now)) {
        if (second < steadySeconds) steadyAtEdge++;
      } else {
        if (!ticketRefusesEpoch(claims, hb, masterEpoch, now) && !reach(i, second, now)) continue;
        if (epochOf[i] !== masterEpoch) {
          // 409 reregister: the client waits up to an interval, then re-registers.
          kind[i] = REREGISTER;
          queue(i, now + random() * interval);
          continue;
        }
        if (now - committed[i]! >= granularity) committed[i] = now; // the due lastSeenAt write
      }
      queue(i, Math.max(now, beatStart[i]! + heartbeatDelay(interval, random))); // start to start, as the client times them
    }
    buckets[second] = [];
    if (second % 20 === 0) opts.progress?.(Math.min(1, second / (steadySeconds + 2 * interval)));
  }

  let steadySum = 0;
  let steadyPeak = 0;
  let failoverPeak = 0;
  for (let s = 0; s < shards; s++) {
    for (let t = 0; t < end; t++) {
      const v = offered[s * total + t]!;
      if (t < steadySeconds) {
        steadySum += v;
        // The first interval is left out of the peak: the start is spread by construction, not by the run.
        if (t >= interval) steadyPeak = Math.max(steadyPeak, v);
      } else failoverPeak = Math.max(failoverPeak, v);
    }
  }
  const sweepSeconds = policy.sweepInterval / 1000;
  opts.progress?.(1);
  return {
    shards,
    agentsPerShard: agents / shards,
    steadyMean: steadySum / (shards * steadySeconds),
    steadyPeak,
    steadyShed,
    failoverShed,
    failoverPeak,
    failoverSeconds: reregistered === agents ? lastBack - steadySeconds : Number.POSITIVE_INFINITY,
    windowSeconds,
    reregistered,
    edgeShare: steadyAtEdge / Math.max(1, steadyBeats),
    masterWritesPerSecond: (shards + 1) / sweepSeconds,
  };
}

/** The runs for each shard count, one after another. */
export function simulateShards(agents: number, opts: { shardCounts?: number[]; steadySeconds?: number; progress?: (done: number) => void } = {}): ShardSimulation {
  const counts = opts.shardCounts ?? SHARD_COUNTS;
  const runs = counts.map((n, k) => simulateShardRun(agents, n, { ...opts, progress: (d) => opts.progress?.((k + d) / counts.length) }));
  return { agents, steadySeconds: opts.steadySeconds ?? 5 * 60, ceiling: prices.assumptions.durableObjectRequestsPerSecond, runs };
}

export const SHARD_HEAD = ['shards', 'agents a shard', 'req/s a shard', 'busiest second', 'shed', 'failover: busiest second', 'shed', 'all back in', 'master writes/s'];

export function shardRows(sim: ShardSimulation): (string | number)[][] {
  return sim.runs.map((r) => [r.shards, r.agentsPerShard, r.steadyMean, r.steadyPeak, r.steadyShed, r.failoverPeak, r.failoverShed, `${fmt(r.failoverSeconds)} s of ${fmt(r.windowSeconds)}`, r.masterWritesPerSecond]);
}

if (import.meta.main) {
  const agents = Number(process.argv[2] ?? 1_000_000);
  const sim = simulateShards(agents);
  console.log(`${fmt(agents)} agents; the edge answered ${(sim.runs[0]!.edgeShare * 100).toFixed(1)}% of heartbeats; one Durable Object takes ~${fmt(sim.ceiling)} requests/s\n`);
  console.log(formatTable(SHARD_HEAD, shardRows(sim)));
}
