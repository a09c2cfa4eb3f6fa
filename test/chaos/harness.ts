// The chaos harness: many stateless masters (separate createMaster apps, each with its own registrar,
// clock skewed by up to maxClockSkew, and cache) share one store through a fault-injecting wrapper;
// thousands of simulated agents follow the agent protocol over HTTP (jittered heartbeats, backoff,
// a random delay before re-registering) and an operator marks agents gone, drains, deactivates,
// reactivates and releases holds. A seeded schedule on a fake clock adds agent deaths and revivals,
// instance crashes mid-request, failovers (every instance down past the lease), cold starts,
// partitions (agents dark, instances cut from the store), a fleet fraction going silent at once, and
// slow scans longer than the sweep interval, some while one instance alone sweeps (the others' sweepers
// paused). Each instance sweeps through the runtime's own loop (startSweeper). Every request, answer
// and sweep attempt is recorded for the checker (./checker.ts).
import { FakeClock, type Clock } from '../../src/clock.ts';
import { createMaster } from '../../src/master/index.ts';
import { createRegistrar, type Registrar, type SweepReport } from '../../src/registrar.ts';
import { startSweeper } from '../../src/runtime.ts';
import type { MasterRecord, Policy } from '../../src/registry/index.ts';
import type { Store } from '../../src/store.ts';
import { prng, seededEntropy } from '../support/random.ts';
import { Scheduler, settle } from '../support/scheduler.ts';
import { faultyStore, type FaultCounts, type FaultRates, type FaultyStore } from './faulty-store.ts';
import { FRAMEWORK_TOKEN, frameworkFleet, type ChaosFramework } from './frameworks.ts';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
/** The world's clock moves this much at a time. */
export const STEP = 250;
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
  /** How often a fleet fraction over the guard's limit goes silent at once (default 0.05 a minute). */
  silencesPerMinute?: number;
  /** Schedulers beside the agents (./frameworks.ts; default none), and how often one dies (default 0.3 a minute). */
  frameworks?: number;
  frameworkDeathsPerMinute?: number;
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
  /** A heartbeat that carried the ticket of the one before (rule 13), which may be answered from it. */
  ticket?: boolean;
}

/** One sweep attempt: its report, or the error it threw. */
export interface Sweep {
  /** When it started and when it ended (world time). */
  started: number;
  at: number;
  instance: string;
  report?: SweepReport;
  error?: string;
  /** The master record just after the sweep, as the store holds it (only when it returned). */
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
  /** The last ticket the master gave (a heartbeat's, a registration's), sent back with the next heartbeat as the agent client does. */
  ticket?: string;
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
  marks: { at: number; id: string; reason: string }[];
  /** When something stopped or started sweepers (crashes, cold starts, cuts, outages, a lone sweeper). */
  disruptions: { at: number; what: string }[];
  /** Fleet fractions that went silent at once. */
  silences: { at: number; until: number; agents: number }[];
  /** Agents that died, and when they came back (a repaired machine re-registers). */
  deaths: { name: string; at: number; revivedAt?: number }[];
  frameworks: ChaosFramework[];
  /** Frameworks that died, and when a new scheduler instance took over. */
  frameworkDeaths: { name: string; at: number; revivedAt?: number }[];
  /** Every framework write the store applied that disconnected or completed a framework (the sweeper's verdicts). */
  frameworkMarks: { at: number; id: string; to: 'disconnected' | 'completed' }[];
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
  const stats: Record<string, number> = { requests: 0, crashes: 0, failovers: 0, coldStarts: 0, partitions: 0, cuts: 0, deaths: 0, revivals: 0, operator: 0, slow: 0, lone: 0, silences: 0 };
  const disruptions: ChaosRun['disruptions'] = [];
  const silences: ChaosRun['silences'] = [];
  const disrupt = (what: string) => disruptions.push({ at: world.now(), what });
  const counts: FaultCounts = { latency: 0, unavailable: 0, appliedThenLost: 0, conflict: 0 };
  const stores: FaultyStore[] = [];
  const deaths: ChaosRun['deaths'] = [];
  const marks: ChaosRun['marks'] = [];
  const frameworkMarks: ChaosRun['frameworkMarks'] = [];
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
      // Due lastSeenAt writes from an instance that did not hold the record (rule 13, no affinity).
      if (writes.some((w) => 'patch' in w)) stats.patches = (stats.patches ?? 0) + 1;
      for (const w of writes) {
        const value = 'put' in w ? (w.put as { status?: string; events?: { type: string }[] }) : undefined;
        const last = value?.events?.at(-1) as { type: string; reason?: string } | undefined;
        if (w.key.startsWith('agents/') && value?.status === 'unreachable' && last?.type === 'unreachable') {
          marks.push({ at: world.now(), id: w.key.slice('agents/'.length), reason: last.reason ?? '' });
        }
        if (w.key.startsWith('frameworks/') && (last?.type === 'disconnected' || last?.type === 'completed') && value?.status === last.type) {
          frameworkMarks.push({ at: world.now(), id: w.key.slice('frameworks/'.length), to: last.type });
        }
      }
      return versions;
    },
  };
  let down = false; // every instance down: no API, no sweeps (a failover, or the whole service restarting)
  /** How long a scan takes during a slow phase (0 outside): longer than the sweep interval, shorter than the gap test. */
  let slowScanMs = 0;
  /** During some slow phases one instance alone sweeps: the others' sweepers are paused (CPU throttled). */
  let lone: string | undefined;
  let ending = false;

  interface Instance {
    name: string;
    generation: number;
    app: ReturnType<typeof createMaster>;
    registrar: Registrar;
    store: FaultyStore;
    /** The runtime's sweeper loop, while this instance sweeps; 'starting' until its first start. */
    sweeper?: { stop(): Promise<void> } | 'starting';
  }
  let generation = 0;
  const instance = (name: string): Instance => {
    const offset = Math.round(random.between(-p.maxClockSkew, p.maxClockSkew));
    const clock: Clock = { now: () => world.now() + offset, sleep: (ms) => scheduler.until(world.now() + ms) };
    const store = faultyStore(slowStore(journaled), prng(random.int(2 ** 31)), scheduler, o.faults);
    stores.push(store);
    const registrar = createRegistrar({ store, clock, policy: p, entropy: seededEntropy(prng(random.int(2 ** 31))), retryDeadlineMs: 2 * SECOND });
    const app = createMaster({ registrar, tokens: { join: [{ label: 'fleet', token: JOIN }], operator: [{ label: 'chaos-operator', token: OPERATOR }], framework: [{ label: 'chaos-schedulers', token: FRAMEWORK_TOKEN }] } });
    generation++;
    return { name, generation, app, registrar: recording(name, generation, registrar), store };
  };
  /** Scans take time during a slow phase: a large registry on a slow store (the first page waits). */
  function slowStore(inner: Store): Store {
    return { ...inner, get: (k) => inner.get(k), commit: (w) => inner.commit(w), list: async (prefix, opts) => {
      if (slowScanMs > 0 && !opts?.cursor) await scheduler.until(world.now() + slowScanMs);
      return inner.list(prefix, opts);
    } };
  }
  /** The registrar as the runtime's sweeper loop sees it, with every sweep attempt recorded. */
  function recording(name: string, gen: number, registrar: Registrar): Registrar {
    return { ...registrar, async sweep() {
      const started = world.now();
      // A crashed instance's sweep still wrote what it wrote: its marks count.
      const by = () => (instances.find((x) => x.name === name)?.generation === gen ? name : `${name} (crashed)`);
      try {
        const report = await registrar.sweep();
        sweeps.push({ started, at: world.now(), instance: by(), report, master: (await o.store.get<MasterRecord>('master'))?.value });
        return report;
      } catch (err) {
        sweeps.push({ started, at: world.now(), instance: by(), error: (err as Error).message });
        throw err; // the runtime's loop logs it; the next sweep retries
      }
    } };
  }
  /** Starts or stops each instance's sweeper loop as the world requires; a new one starts at a random phase. */
  function reconcileSweepers() {
    for (const i of instances) {
      const wanted = !down && !ending && (lone === undefined || i.name === lone);
      if (wanted && i.sweeper === undefined) {
        i.sweeper = 'starting';
        const gen = i.generation;
        void scheduler.until(world.now() + random.between(0, p.sweepInterval)).then(() => {
          if (i.sweeper === 'starting' && i.generation === gen) i.sweeper = startSweeper(i.registrar, () => {});
        });
      } else if (!wanted && i.sweeper !== undefined) stopSweeper(i);
    }
  }
  function stopSweeper(i: Instance) {
    if (i.sweeper !== undefined && i.sweeper !== 'starting') track(i.sweeper.stop());
    i.sweeper = undefined;
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
  // The frameworks route their requests with a generator of their own, so the agents' schedule stays as it was.
  const frameworkRoute = prng(o.seed ^ 0x0f4a3);
  const schedulers = frameworkFleet(o.seed, o.frameworks ?? 0, {
    now: () => world.now(),
    heartbeatInterval: p.heartbeatInterval,
    call: (actor, method, path, token, body) => call(actor, frameworkRoute.pick(instances), method, path, token, body),
  });
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
        const ticket = a.ticket;
        x = await call(a.name, via, 'POST', `/api/v1/agents/${a.id}/heartbeat`, a.secret, { epoch: a.epoch, ...(random.next() < 0.05 ? { drained: true } : {}), ...(ticket ? { ticket } : {}) });
        if (ticket) {
          x.ticket = true;
          stats.ticketed = (stats.ticketed ?? 0) + 1;
        }
      }
      // As the agent client: every 2xx (a heartbeat's, a registration's) carries the ticket for the next heartbeat.
      const ok = typeof x.status === 'number' && x.status < 300;
      a.ticket = ok && typeof x.body?.ticket === 'string' ? x.body.ticket : undefined;
      if (ok) {
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
    else if (r < 0.95) await call('operator', via, 'POST', `/api/v1/agents/${a.id}/reactivate`, OPERATOR, {});
    else await call('operator', via, 'POST', '/api/v1/master/recovery/release', OPERATOR, { reason: 'chaos' });
  }

  const inFlight = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };
  const perStep = (perMinute: number) => perMinute * (STEP / MINUTE);
  let downUntil = 0;
  let slowUntil = 0;
  let silentUntil = 0;
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
      slowScanMs = 0;
      lone = undefined;
      for (const s of stores) {
        s.cut = false;
        s.rates = { latency: 0, maxLatencyMs: 0, unavailable: 0, appliedThenLost: 0, conflict: 0 };
      }
      for (const a of agents) a.cutUntil = 0;
      served(now);
    }
    // Every verdict is in: the sweepers stop, and the run ends once nothing is left in flight.
    if (now >= quietUntil) ending = true;
    if (ending && inFlight.size === 0 && instances.every((i) => i.sweeper === undefined)) break;
    if (!winding()) {
      if (down && now >= downUntil) {
        down = false;
        served(now);
        disrupt('back up');
      }
      if (slowScanMs > 0 && now >= slowUntil) {
        slowScanMs = 0;
        if (lone !== undefined) disrupt(`every sweeper back after ${lone} swept alone`);
        lone = undefined;
      }
      // The schedule of trouble, per minute of world time.
      if (!down && random.next() < perStep(o.failoversPerMinute ?? 0.1)) {
        down = true;
        downUntil = now + random.between(p.masterLease + 2 * p.maxClockSkew + SECOND, 3 * p.masterLease);
        stats.failovers!++;
        disrupt('failover: every instance down');
      }
      if (!down && random.next() < perStep(0.15)) {
        // Down for less than the lease (a restart): the next sweep finds a gap, not a lapsed lease.
        down = true;
        const gapTest = 2 * p.sweepInterval + p.maxClockSkew;
        downUntil = now + random.between(gapTest + SECOND, Math.min(p.masterLease - p.maxClockSkew - SECOND, gapTest + MINUTE));
        stats.restarts = (stats.restarts ?? 0) + 1;
        disrupt('restart: every instance down');
      }
      if (random.next() < perStep(0.05)) {
        // A cold start of every instance: nothing cached survives.
        for (let k = 0; k < instances.length; k++) {
          stopSweeper(instances[k]!);
          instances[k] = instance(instances[k]!.name);
        }
        stats.coldStarts!++;
        disrupt('cold start');
      }
      if (random.next() < perStep(1)) {
        const k = random.int(instances.length);
        stopSweeper(instances[k]!);
        instances[k] = instance(instances[k]!.name); // crashed mid-request: its answers are lost, its writes may land
        stats.crashes!++;
        disrupt(`crash of ${instances[k]!.name}`);
      }
      if (random.next() < perStep(0.5)) {
        const cut = random.pick(instances);
        const s = cut.store;
        s.cut = true;
        const heal = world.now() + random.between(5 * SECOND, 2 * MINUTE);
        void scheduler.until(heal).then(() => {
          s.cut = false;
          disrupt(`${cut.name} reaches the store again`);
        });
        stats.cuts!++;
        disrupt(`${cut.name} cut from the store`);
      }
      if (random.next() < perStep(0.3)) {
        const until = now + random.between(5 * SECOND, 2 * p.agentTimeout);
        for (const a of agents) if (random.next() < 0.1) a.cutUntil = Math.max(a.cutUntil, until);
        stats.partitions!++;
      }
      if (now >= silentUntil && random.next() < perStep(o.silencesPerMinute ?? 0.05)) {
        // A fleet fraction over the guard's limit goes dark at once (a network outage, a bad push): its
        // deadlines spread over a granularity and a heartbeat, so the guard must count over the period.
        const fraction = random.between(p.recoveryUnreachableLimit + 0.05, Math.min(0.9, p.recoveryUnreachableLimit + 0.35));
        silentUntil = now + random.between(p.agentTimeout + p.livenessGranularity + 2 * MINUTE, p.reregisterTimeout + 10 * MINUTE);
        let dark = 0;
        for (const a of agents) {
          if (random.next() < fraction) {
            a.cutUntil = Math.max(a.cutUntil, silentUntil);
            dark++;
          }
        }
        silences.push({ at: now, until: silentUntil, agents: dark });
        stats.silences!++;
        if (!down && random.next() < 0.5) {
          // Half the time the outage takes the masters too: a new epoch's window closes with most of the
          // fleet missing (a hold), while the agents that re-registered keep living and dying by rule 2.
          down = true;
          downUntil = now + random.between(p.masterLease + 2 * p.maxClockSkew + SECOND, 3 * p.masterLease);
          silentUntil = Math.max(silentUntil, downUntil + p.reregisterTimeout + 4 * MINUTE);
          for (const a of agents) if (a.cutUntil > now) a.cutUntil = Math.max(a.cutUntil, silentUntil);
          silences.at(-1)!.until = silentUntil;
          stats.failovers!++;
          disrupt('failover with the silence: every instance down');
        }
      }
      if (slowScanMs === 0 && random.next() < perStep(0.15)) {
        // Scans longer than the sweep interval and shorter than the gap test; half the time one instance
        // sweeps alone (a single server, a throttled fleet), where the sweep loop's schedule decides.
        const gapTest = 2 * p.sweepInterval + p.maxClockSkew;
        slowScanMs = random.between(p.sweepInterval + p.maxClockSkew + SECOND, gapTest - SECOND);
        slowUntil = now + random.between(2 * MINUTE, 6 * MINUTE);
        stats.slow!++;
        if (random.next() < 0.5) {
          lone = random.pick(instances).name;
          stats.lone!++;
          disrupt(`${lone} sweeps alone`);
        }
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
    schedulers.step(now, winding() ? 0 : perStep(o.frameworkDeathsPerMinute ?? 0.3), track);
    if (!winding() && schedulers.fleet.length > 0 && frameworkRoute.next() < perStep(0.1)) track(schedulers.teardown(OPERATOR));
    reconcileSweepers();
    await settle();
    while (io > 0) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      await settle();
    }
  }
  for (const s of stores) for (const k of Object.keys(counts) as (keyof FaultCounts)[]) counts[k] += s.counts[k];
  return { seed: o.seed, policy: p, exchanges, sweeps, agents, servedSince, faults: counts, stats, deaths, marks, frameworks: schedulers.fleet, frameworkDeaths: schedulers.deaths, frameworkMarks, disruptions, silences, store: o.store, start, end: world.now() };
}
