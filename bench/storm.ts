// A failover at full scale, on LevelDB (or the memory store): N agents registered one at a time
// (beside the store's own conditional put), the master stopped for longer than its lease, a cold
// start (open the folder, the first sweep starts an epoch, a heartbeat answered), then the
// re-registration storm: every agent's next heartbeat gets 409, it re-registers after a random delay
// of up to one heartbeat interval (as the agent client does), and heartbeats on.
//
// The storm runs in virtual time: one server takes the requests that have arrived, in order and up
// to 64 at once (as the Node server takes its connections: their commits share LevelDB's synced
// batches), and each wave advances the fake clock by the real time it took, so a server slower than
// the arrivals falls behind (the queueing delay is measured) as far as it really would. Sweeps run
// every sweepInterval of that time, beside the requests. It goes on until every agent is back, then for another
// agentTimeout + livenessGranularity + 2 × sweepInterval, so that an agent wrongly judged after
// coming back early would be marked within the run. `node bench/storm.ts [agents] [leveldb|memory]` prints it alone.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createLevelDbStore } from '../adapters/leveldb/index.ts';
import { createMemoryStore } from '../adapters/memory/index.ts';
import { heartbeatDelay } from '../src/agent/client.ts';
import { FakeClock } from '../src/clock.ts';
import { agentKey } from '../src/registrar.ts';
import type { Store } from '../src/store.ts';
import { benchMaster, call, gc, JOIN, rawPutsPerSecond } from './support.ts';

export interface StormResult {
  store: 'leveldb' | 'memory';
  agents: number;
  registrationsPerSecond: number;
  rawPutsPerSecond: number;
  /** Open the folder, the first sweep (a new epoch), a heartbeat answered 409. */
  coldStartMs: number;
  /** Virtual seconds from the cold start until the last agent re-registered, and the window it had. */
  stormSeconds: number;
  windowSeconds: number;
  /** The longest and the 99th-percentile wait of a request behind the ones before it, virtual ms. */
  maxQueueMs: number;
  p99QueueMs: number;
  /** Live agents marked unreachable, and answers other than 200, 201 and the expected 409s. */
  falseUnreachable: number;
  failed: number;
  requests: number;
  /** The server's live heap per agent once all are back (this run's own list of agents left out). */
  heapBytesPerAgent: number;
}

/** Requests the storm's server takes at once, as the Node server takes its connections. */
export const STORM_IN_FLIGHT = 64;

interface Sim {
  agentId: string;
  secret: string;
  epoch: number;
  ticket?: string;
  /** What the agent does next: heartbeat, or re-register after a 409. */
  next: 'heartbeat' | 'reregister';
  back: boolean;
}

const info = (i: number) => ({ hostname: `host-${i}.storm.example.com`, port: 5051, resources: { cpus: 16, mem: 65536 }, attributes: { rack: `rack-${i % 40}` }, version: '1.0.0' });

/** Virtual-time events in 10 ms buckets, taken in order; an event due while the server is busy waits. */
class Timeline<T> {
  readonly #buckets = new Map<number, T[]>();
  #cursor: number;
  constructor(start: number) {
    this.#cursor = Math.floor(start / 10);
  }
  at(time: number, item: T): void {
    const b = Math.max(this.#cursor, Math.floor(time / 10));
    const list = this.#buckets.get(b);
    if (list) list.push(item);
    else this.#buckets.set(b, [item]);
  }
  /** The next bucket's items (in arrival order) and its time; items added to it meanwhile are taken too. */
  take(): { time: number; items: T[] } | undefined {
    if (this.#buckets.size === 0) return undefined;
    while (!this.#buckets.has(this.#cursor)) this.#cursor++;
    const items = this.#buckets.get(this.#cursor)!;
    return { time: this.#cursor * 10, items };
  }
  done(): void {
    this.#buckets.delete(this.#cursor);
  }
}

export async function measureStorm(agents: number, kind: 'leveldb' | 'memory', progress: (done: number) => void = () => {}): Promise<StormResult> {
  const dir = kind === 'leveldb' ? await mkdtemp(join(os.tmpdir(), 'registrar-storm-')) : undefined;
  const location = dir ? join(dir, 'data') : '';
  const memory = createMemoryStore();
  // LevelDB is closed and opened again for the cold start; the memory store stays as it is.
  const open = async (): Promise<Store> => (dir ? createLevelDbStore({ location }) : memory);
  let store = await open();
  try {
    const clock = new FakeClock();
    let m = benchMaster(store, clock);
    const { policy } = m;
    await m.registrar.sweep();
    await gc();
    const heapBefore = process.memoryUsage().heapUsed;

    let t = performance.now();
    const fleet: Sim[] = [];
    for (let i = 0; i < agents; i++) {
      const a = (await (await call(m.request, '/api/v1/agents', JOIN, info(i))).json()) as Sim;
      fleet.push({ agentId: a.agentId, secret: a.secret, epoch: a.epoch, next: 'heartbeat', back: false });
      if (i % 1000 === 0) {
        progress((0.3 * i) / agents);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const registrationsPerSecond = (agents / (performance.now() - t)) * 1000;
    const record = (await store.get(agentKey(fleet[0]!.agentId)))!.value;
    const rawPuts = await rawPutsPerSecond(store, record, Math.min(agents, 20_000), { remove: true });

    // The master stops for longer than its lease: the next one starts a new epoch.
    if (dir) await store.close();
    clock.advance(policy.masterLease + policy.maxClockSkew + 1_000);
    t = performance.now();
    store = await open();
    m = benchMaster(store, clock);
    await m.registrar.sweep();
    const first = fleet[0]!;
    const probe = await call(m.request, `/api/v1/agents/${first.agentId}/heartbeat`, first.secret, { epoch: first.epoch });
    await probe.arrayBuffer();
    const coldStartMs = performance.now() - t;
    if (probe.status !== 409) throw new Error(`after the failover a heartbeat answered ${probe.status}, not 409`);

    const start = clock.now();
    const timeline = new Timeline<Sim | 'sweep'>(start);
    // Agents were heartbeating all along, out of step: each one's next heartbeat falls within an interval.
    for (const a of fleet) timeline.at(start + Math.random() * policy.heartbeatInterval, a);
    timeline.at(start + policy.sweepInterval, 'sweep');
    const queueMs: number[] = [];
    let back = 0;
    let stormEnd: number | undefined;
    let falseUnreachable = 0;
    let failed = 0;
    let requests = 0;
    let yieldedAt = 0;
    const margin = policy.agentTimeout + policy.livenessGranularity + 2 * policy.sweepInterval;
    /** One request as the agent client sends it; false for an answer other than 200 and the expected 409. */
    const serve = async (e: Sim): Promise<boolean> => {
      if (e.next === 'reregister') {
        const res = await call(m.request, `/api/v1/agents/${e.agentId}/reregister`, e.secret, info(0));
        const body = (await res.json()) as { epoch: number; ticket?: string };
        if (res.status !== 200) return false;
        e.epoch = body.epoch;
        e.ticket = body.ticket; // as the agent client does: the next heartbeat need not read
        e.next = 'heartbeat';
        if (!e.back && ++back === agents) stormEnd = clock.now();
        e.back = true;
        return true;
      }
      const res = await call(m.request, `/api/v1/agents/${e.agentId}/heartbeat`, e.secret, { epoch: e.epoch, ...(e.ticket ? { ticket: e.ticket } : {}) });
      const body = (await res.json()) as { ticket?: string };
      e.ticket = body.ticket;
      if (res.status === 409 && !e.back) {
        e.next = 'reregister';
        return true;
      }
      return res.status === 200;
    };
    for (let next = timeline.take(); next; next = timeline.take()) {
      // The server takes what has arrived, up to STORM_IN_FLIGHT at once, as the Node server takes its
      // connections; the clock moves on by the real time the wave took.
      for (let taken = 0; taken < next.items.length; ) {
        const wave = next.items.slice(taken, taken + STORM_IN_FLIGHT);
        taken += wave.length;
        if (clock.now() < next.time) clock.set(next.time);
        const sent = wave.map((e) => (e === 'sweep' ? e : e.next));
        const t0 = performance.now();
        const answered = await Promise.all(wave.map(async (e) => {
          if (e === 'sweep') {
            falseUnreachable += (await m.registrar.sweep()).marked.length;
            return true;
          }
          queueMs.push(clock.now() - next.time);
          requests++;
          return serve(e);
        }));
        clock.advance(performance.now() - t0);
        const going = stormEnd === undefined || clock.now() < stormEnd + margin;
        for (const [n, e] of wave.entries()) {
          if (!answered[n]) failed++;
          if (!going) continue;
          if (e === 'sweep') {
            timeline.at(next.time + policy.sweepInterval, 'sweep');
            continue;
          }
          // As the agent client: after a 409 a random wait, after re-registering an interval, and
          // heartbeats an interval apart start to start (the next one no sooner than this one's answer).
          const beat = sent[n] === 'heartbeat';
          timeline.at(e.next === 'reregister' ? clock.now() + Math.random() * policy.heartbeatInterval : Math.max(clock.now(), (beat ? next.time : clock.now()) + heartbeatDelay(policy.heartbeatInterval)), e);
        }
      }
      timeline.done();
      // A task turn now and then: in-process requests leave finalizers that only run between tasks.
      if (requests - yieldedAt >= 1000) {
        yieldedAt = requests;
        await new Promise((resolve) => setImmediate(resolve));
      }
      progress(0.3 + 0.7 * (stormEnd === undefined ? 0.5 * (back / agents) : Math.min(1, 0.5 + (0.5 * (clock.now() - stormEnd)) / margin)));
    }
    // What the server keeps for its agents: the heap over the one before they registered, with this
    // run's own list of them (the agents' side) dropped first.
    fleet.length = 0;
    await gc();
    const heapBytesPerAgent = Math.max(0, process.memoryUsage().heapUsed - heapBefore) / agents;
    // Every agent admitted in the new epoch (this also keeps the server alive through the measurement).
    const { counts } = await m.registrar.masterStatus();
    if (counts.admitted !== agents) throw new Error(`after the storm ${counts.admitted} of ${agents} agents are admitted`);
    queueMs.sort((a, b) => a - b);
    return {
      store: kind,
      agents,
      registrationsPerSecond,
      rawPutsPerSecond: rawPuts,
      coldStartMs,
      stormSeconds: ((stormEnd ?? clock.now()) - start) / 1000,
      windowSeconds: policy.reregisterTimeout / 1000,
      maxQueueMs: queueMs.at(-1) ?? 0,
      p99QueueMs: queueMs[Math.floor(queueMs.length * 0.99)] ?? 0,
      falseUnreachable,
      failed,
      requests,
      heapBytesPerAgent,
    };
  } finally {
    await store.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const agents = Number(process.argv[2] ?? 100_000);
  const kind = (process.argv[3] ?? 'leveldb') as 'leveldb' | 'memory';
  console.log(await measureStorm(agents, kind));
}
