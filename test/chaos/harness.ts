// The chaos harness: many stateless masters (separate createMaster apps, each with its own registrar,
// clock skewed by up to maxClockSkew, and cache) share one store through a fault-injecting wrapper;
// thousands of simulated agents follow the agent protocol over HTTP (jittered heartbeats, backoff,
// a random delay before re-registering) and an operator marks agents gone, drains, deactivates,
// reactivates and releases holds. A seeded schedule on a fake clock adds agent deaths and revivals,
// instance crashes mid-request, failovers (every instance down past the lease), cold starts,
// partitions (agents dark, instances cut from the store) and slow scans. Every request and answer
// is recorded for the checker (./checker.ts).
import { FakeClock, type Clock } from '../../src/clock.ts';
import { createMaster } from '../../src/master/index.ts';
import { createRegistrar, type SweepReport } from '../../src/registrar.ts';
import type { MasterRecord, Policy } from '../../src/registry/index.ts';
import type { Store } from '../../src/store.ts';
import { prng, seededEntropy } from '../support/random.ts';
import { Scheduler, settle } from '../support/scheduler.ts';
import { faultyStore, type FaultCounts, type FaultRates, type FaultyStore } from './faulty-store.ts';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
const STEP = 250;
const JOIN = 'chaos-join-token-0123456789';
const OPERATOR = 'chaos-operator-token-0123456789';

export interface ChaosOptions {
  seed: number;
  policy: Policy;
  /** Agent requests to make before the run winds down. */
  ops: number;
  agents: number;
  instances: number;
  store: Store;
  faults: FaultRates;
  /** How often every instance goes down past the lease (default 0.1 a minute). */
  failoversPerMinute?: number;
  /** Called now and then with the requests made so far (a progress bar). */
  progress?: (done: number) => void;
}

/** One request and its answer, as the checker sees them. */
export interface Exchange {
  /** When the request was sent, and when its answer came back (world time). */
  at: number;
  done: number;
  actor: string;
  instance: string;
  method: string;
  path: string;
  status: number | 'network';
  body?: Record<string, unknown>;
}

export interface Sweep {
  at: number;
  instance: string;
  report: SweepReport;
  /** The master record just after the sweep, as the store holds it. */
  master?: MasterRecord;
}

export interface ChaosAgent {
  name: string;
  id: string;
  secret: string;
  epoch: number;
  registered: boolean;
  diedAt?: number;
  reviveAt?: number;
  cutUntil: number;
  cutSinceOk: boolean;
  lastOkAt: number;
  gone: boolean;
  nextAt: number;
  busy: boolean;
  mustReregister: boolean;
}

export interface ChaosRun {
  seed: number;
  policy: Policy;
  exchanges: Exchange[];
  sweeps: Sweep[];
  agents: ChaosAgent[];
  /** World time from which a master served every agent again, per moment it changed. */
  servedSince: { at: number; since: number }[];
  faults: FaultCounts;
  stats: Record<string, number>;
  /** Every agent write the store applied that marked an agent unreachable, whoever's answer was lost. */
  marks: { at: number; id: string }[];
  /** Agents that died, and when they came back (a repaired machine re-registers). */
  deaths: { name: string; at: number; revivedAt?: number }[];
  store: Store;
  end: number;
  start: number;
}

const uuid = (random: ReturnType<typeof prng>) => seededEntropy(random).id();

export async function runChaos(o: ChaosOptions): Promise<ChaosRun> {
  const p = o.policy;
  const random = prng(o.seed);
  const world = new FakeClock();
  const scheduler = new Scheduler(world);
  const start = world.now();
  const exchanges: Exchange[] = [];
  const sweeps: Sweep[] = [];
  const servedSince: ChaosRun['servedSince'] = [{ at: start, since: start }];
  const stats: Record<string, number> = { requests: 0, crashes: 0, failovers: 0, coldStarts: 0, partitions: 0, cuts: 0, deaths: 0, revivals: 0, operator: 0, slow: 0 };
  const counts: FaultCounts = { latency: 0, unavailable: 0, appliedThenLost: 0, conflict: 0 };
  const stores: FaultyStore[] = [];
  const deaths: ChaosRun['deaths'] = [];
  const marks: ChaosRun['marks'] = [];
  // What the store applied, whatever became of the answer: a sweep may mark and then fail.
  // Calls in progress at the real store: the world's clock waits for them (a disk's fsync is not world time).
  let io = 0;
  const counted = async <R>(call: () => Promise<R>): Promise<R> => {
    io++;
    try {
      return await call();
    } finally {
      io--;
    }
  };
  const journaled: Store = {
    ...o.store,
    get: (k) => counted(() => o.store.get(k)),
    list: (prefix, opts) => counted(() => o.store.list(prefix, opts)),
    async commit(writes) {
      const versions = await counted(() => o.store.commit(writes));
      for (const w of writes) {
        const value = 'put' in w ? (w.put as { status?: string; events?: { type: string }[] }) : undefined;
        if (w.key.startsWith('agents/') && value?.status === 'unreachable' && value.events?.at(-1)?.type === 'unreachable') {
          marks.push({ at: world.now(), id: w.key.slice('agents/'.length) });
        }
      }
      return versions;
    },
  };
  let down = false; // every instance down: no API, no sweeps (a failover, or the whole service restarting)
  let slowScans = false;

  interface Instance {
    name: string;
    generation: number;
    app: ReturnType<typeof createMaster>;
    sweep: () => Promise<SweepReport>;
    store: FaultyStore;
    nextSweepAt: number;
    sweeping: boolean;
  }
  let generation = 0;
  const instance = (name: string): Instance => {
    const offset = Math.round(random.between(-p.maxClockSkew, p.maxClockSkew));
    const clock: Clock = { now: () => world.now() + offset, sleep: (ms) => scheduler.until(world.now() + ms) };
    const store = faultyStore(slowStore(journaled), prng(random.int(2 ** 31)), scheduler, o.faults);
    stores.push(store);
    const registrar = createRegistrar({ store, clock, policy: p, entropy: seededEntropy(prng(random.int(2 ** 31))), retryDeadlineMs: 2 * SECOND });
    const app = createMaster({ registrar, tokens: { join: [{ label: 'fleet', token: JOIN }], operator: [{ label: 'chaos-operator', token: OPERATOR }] } });
    return { name, generation: ++generation, app, sweep: () => registrar.sweep(), store, nextSweepAt: world.now() + random.between(0, p.sweepInterval), sweeping: false };
  };
  /** Scans take time during a slow phase: a large registry on a slow store. */
  function slowStore(inner: Store): Store {
    return { ...inner, get: (k) => inner.get(k), commit: (w) => inner.commit(w), list: async (prefix, opts) => {
      if (slowScans) await scheduler.until(world.now() + 4 * SECOND);
      return inner.list(prefix, opts);
    } };
  }
  const instances = Array.from({ length: o.instances }, (_, i) => instance(`m${i}`));

  /** A request through one instance; a crash of that instance meanwhile turns the answer into a network error. */
  async function call(actor: string, via: Instance, method: string, path: string, token: string, body?: unknown): Promise<Exchange> {
    const at = world.now();
    const gen = via.generation;
    let status: Exchange['status'] = 'network';
    let parsed: Record<string, unknown> | undefined;
    if (!down) {
      const res = await via.app.request(path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      const crashed = instances.find((i) => i.name === via.name)?.generation !== gen;
      if (!crashed && !down) {
        status = res.status;
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      }
    }
    const exchange: Exchange = { at, done: world.now(), actor, instance: via.name, method, path, status, ...(parsed ? { body: parsed } : {}) };
    exchanges.push(exchange);
    stats.requests!++;
    return exchange;
  }

  const agents: ChaosAgent[] = Array.from({ length: o.agents }, (_, n) => ({
    name: `a${n}`, id: uuid(random), secret: seededEntropy(random).secret(), epoch: 0, registered: false,
    cutUntil: 0, cutSinceOk: false, lastOkAt: start, gone: false, nextAt: start + random.between(0, 2 * p.heartbeatInterval), busy: false, mustReregister: false,
  }));
  const info = (a: ChaosAgent) => ({ hostname: `${a.name}.chaos`, resources: { cpus: 4 }, attributes: { rack: `r${a.name.length % 3}` }, machineId: `machine-${a.name}` });

  async function act(a: ChaosAgent) {
    a.busy = true;
    const via = random.pick(instances);
    const beat = random.between(0.8 * p.heartbeatInterval, p.heartbeatInterval);
    const backoff = random.between(0.25 * SECOND, p.heartbeatInterval);
    const delay = random.between(0, p.heartbeatInterval);
    try {
      if (world.now() < a.cutUntil) {
        a.cutSinceOk = true;
        exchanges.push({ at: world.now(), done: world.now(), actor: a.name, instance: '-', method: 'POST', path: 'partitioned', status: 'network' });
        a.nextAt = world.now() + backoff;
        return;
      }
      let x: Exchange;
      if (!a.registered) {
        x = await call(a.name, via, 'POST', '/api/v1/agents', JOIN, { ...info(a), agentId: a.id, secret: a.secret });
        if (x.status === 201) {
          a.registered = true;
          a.epoch = x.body!.epoch as number;
        }
      } else if (a.mustReregister) {
        x = await call(a.name, via, 'POST', `/api/v1/agents/${a.id}/reregister`, a.secret, info(a));
        if (x.status === 200) {
          a.mustReregister = false;
          a.epoch = x.body!.epoch as number;
        }
      } else {
        x = await call(a.name, via, 'POST', `/api/v1/agents/${a.id}/heartbeat`, a.secret, { epoch: a.epoch, ...(random.next() < 0.05 ? { drained: true } : {}) });
      }
      if (typeof x.status === 'number' && x.status < 300) {
        a.lastOkAt = world.now();
        a.cutSinceOk = false;
        a.nextAt = world.now() + beat;
      } else if (x.status === 409 && x.body?.error === 'reregister') {
        a.mustReregister = true;
        a.nextAt = world.now() + delay;
      } else if (x.status === 409 && x.body?.error === 'machine-in-use') {
        a.nextAt = world.now() + beat;
      } else if (x.status === 410) {
        a.gone = true; // the agent shuts down for good
      } else if (x.status === 404) {
        a.registered = false; // pruned or left: register afresh (its id's tombstone will say 410)
        a.nextAt = world.now() + delay;
      } else {
        a.nextAt = world.now() + backoff; // 503, 429, network: back off
      }
    } finally {
      a.busy = false;
    }
  }

  async function operatorAct() {
    const a = random.pick(agents);
    const via = random.pick(instances);
    const r = random.next();
    stats.operator!++;
    if (r < 0.15) await call('operator', via, 'POST', `/api/v1/agents/${a.id}/gone`, OPERATOR, { reason: 'chaos' });
    else if (r < 0.4) await call('operator', via, 'POST', `/api/v1/agents/${a.id}/drain`, OPERATOR, { maxGracePeriodSeconds: 60 });
    else if (r < 0.6) await call('operator', via, 'POST', `/api/v1/agents/${a.id}/deactivate`, OPERATOR, {});
    else if (r < 0.85) await call('operator', via, 'POST', `/api/v1/agents/${a.id}/reactivate`, OPERATOR, {});
    else await call('operator', via, 'POST', '/api/v1/master/recovery/release', OPERATOR, { reason: 'chaos' });
  }

  async function sweepBy(i: Instance) {
    i.sweeping = true;
    const gen = i.generation;
    i.nextSweepAt = world.now() + p.sweepInterval;
    try {
      const report = await i.sweep();
      // A crashed instance's sweep still wrote what it wrote: its marks count.
      const crashed = instances.find((x) => x.name === i.name)?.generation !== gen;
      sweeps.push({ at: world.now(), instance: crashed ? `${i.name} (crashed)` : i.name, report, master: (await o.store.get<MasterRecord>('master'))?.value });
    } catch {
      // logged by nobody here: the next sweep retries
    } finally {
      i.sweeping = false;
    }
  }

  const inFlight = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };
  const perStep = (perMinute: number) => perMinute * (STEP / MINUTE);
  let downUntil = 0;
  let slowUntil = 0;
  const served = (since: number) => servedSince.push({ at: world.now(), since });

  // No master record yet: agents get 503 until the first sweep (in the loop) writes it.
  const winding = () => stats.requests! >= o.ops;
  let lastProgress = 0;
  let quietUntil = Number.POSITIVE_INFINITY;
  for (;;) {
    world.advance(STEP);
    scheduler.fire();
    const now = world.now();
    if (winding() && quietUntil === Number.POSITIVE_INFINITY) {
      // Wind down: heal everything and let the masters serve until every verdict is in.
      quietUntil = now + p.reregisterTimeout + p.agentTimeout + p.livenessGranularity + 4 * p.sweepInterval;
      down = false;
      slowScans = false;
      for (const s of stores) {
        s.cut = false;
        s.rates = { latency: 0, maxLatencyMs: 0, unavailable: 0, appliedThenLost: 0, conflict: 0 };
      }
      for (const a of agents) a.cutUntil = 0;
      served(now);
    }
    if (now >= quietUntil && inFlight.size === 0) break;
    if (!winding()) {
      if (down && now >= downUntil) {
        down = false;
        served(now);
      }
      if (slowScans && now >= slowUntil) slowScans = false;
      // The schedule of trouble, per minute of world time.
      if (!down && random.next() < perStep(o.failoversPerMinute ?? 0.1)) {
        down = true;
        downUntil = now + random.between(p.masterLease + 2 * p.maxClockSkew + SECOND, 3 * p.masterLease);
        stats.failovers!++;
      }
      if (!down && random.next() < perStep(0.15)) {
        // Down for less than the lease (a restart): the next sweep finds a gap, not a lapsed lease.
        down = true;
        const gapTest = 2 * p.sweepInterval + p.maxClockSkew;
        downUntil = now + random.between(gapTest + SECOND, Math.min(p.masterLease - p.maxClockSkew - SECOND, gapTest + MINUTE));
        stats.restarts = (stats.restarts ?? 0) + 1;
      }
      if (random.next() < perStep(0.05)) {
        // A cold start of every instance: nothing cached survives.
        for (let k = 0; k < instances.length; k++) instances[k] = instance(instances[k]!.name);
        stats.coldStarts!++;
      }
      if (random.next() < perStep(1)) {
        const k = random.int(instances.length);
        instances[k] = instance(instances[k]!.name); // crashed mid-request: its answers are lost, its writes may land
        stats.crashes!++;
      }
      if (random.next() < perStep(0.5)) {
        const s = random.pick(instances).store;
        s.cut = true;
        const heal = world.now() + random.between(5 * SECOND, 2 * MINUTE);
        void scheduler.until(heal).then(() => {
          s.cut = false;
        });
        stats.cuts!++;
      }
      if (random.next() < perStep(0.3)) {
        const until = now + random.between(5 * SECOND, 2 * p.agentTimeout);
        for (const a of agents) if (random.next() < 0.1) a.cutUntil = until;
        stats.partitions!++;
      }
      if (!slowScans && random.next() < perStep(0.1)) {
        slowScans = true;
        slowUntil = now + random.between(MINUTE, 5 * MINUTE);
        stats.slow!++;
      }
      if (random.next() < perStep(2)) {
        const alive = agents.filter((a) => a.diedAt === undefined && !a.gone);
        if (alive.length > 0.85 * agents.length) {
          const a = random.pick(alive);
          a.diedAt = now;
          a.reviveAt = now + random.between(3 * MINUTE, 15 * MINUTE);
          deaths.push({ name: a.name, at: now });
          stats.deaths!++;
        }
      }
      if (random.next() < perStep(3)) track(operatorAct());
      for (const a of agents) {
        if (a.reviveAt !== undefined && now >= a.reviveAt) {
          deaths.findLast((d) => d.name === a.name)!.revivedAt = now;
          a.diedAt = undefined;
          a.reviveAt = undefined;
          a.nextAt = now;
          stats.revivals!++;
        }
      }
      if (stats.requests! - lastProgress >= 1000) {
        lastProgress = stats.requests!;
        o.progress?.(lastProgress);
      }
    }
    if (down) served(now);
    for (const a of agents) if (!a.busy && !a.gone && a.diedAt === undefined && now >= a.nextAt) track(act(a));
    for (const i of instances) if (!down && !i.sweeping && now >= i.nextSweepAt) track(sweepBy(i));
    await settle();
    while (io > 0) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      await settle();
    }
  }
  for (const s of stores) for (const k of Object.keys(counts) as (keyof FaultCounts)[]) counts[k] += s.counts[k];
  return { seed: o.seed, policy: p, exchanges, sweeps, agents, servedSince, faults: counts, stats, deaths, marks, store: o.store, start, end: world.now() };
}
