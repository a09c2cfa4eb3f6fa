// A seeded simulation of the protocol (DESIGN.md, rule 5): several stateless masters share one store,
// each with a clock skewed by up to ±maxClockSkew and its own cached master record; agents follow the
// protocol (jittered heartbeats with their tickets, backoff, a random delay before re-registering). The masters' world
// changes phase by phase: serving, gaps between sweeps, failovers past the lease, the API dark, store
// outages, slow scans, restarts; some agents are cut off for a while, some die for good, and an
// operator releases holds. Two oracles judge every mark and every dead agent:
// - no false positives: an agent is never marked while it has been silent (by the world's clock,
//   counting only time in which a master served it) for less than agentTimeout;
// - bounded detection: outside open windows and holds, a dead agent is marked within
//   agentTimeout + livenessGranularity + sweepInterval (+ a sweep's duration and the skew) of service.
// Every source of order and randomness comes from the seed, and every in-flight request and sweep
// advances on one scheduler, so a seed replays the same history: `digest` fingerprints it.
import { createHash } from 'node:crypto';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FakeClock, type Clock } from '../../src/clock.ts';
import { RefusedError, createRegistrar, type Registrar, type SweepReport } from '../../src/registrar.ts';
import type { AgentRecord, MasterRecord, Policy } from '../../src/registry/index.ts';
import { StoreUnavailableError, type Store } from '../../src/store.ts';
import { prng, seededEntropy, type Prng } from '../support/random.ts';
import { Scheduler, settle } from '../support/scheduler.ts';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
const STEP = 250;

export type PhaseKind = 'serve' | 'gap' | 'failover' | 'dark' | 'outage' | 'slow' | 'restart';

export interface SimOptions {
  seed: number;
  policy: Policy;
  duration: number;
  agents: number;
  instances?: number;
  /** Relative weights of the masters' phases; a missing kind never happens. */
  phases: Partial<Record<PhaseKind, number>>;
  /** A slow phase's extra time per scanned page. */
  slowPageMs?: number;
  /** Chance per minute that a few agents are cut off (a partition) for up to `partitionMax`. */
  partitionsPerMinute?: number;
  partitionMax?: number;
  /** Chance per minute that most of the fleet (60%) is cut off for minutes: enough to trip the guard. */
  massPartitionsPerMinute?: number;
  /** Chance per minute that one agent dies; once marked, it comes back after a while and re-registers. */
  deathsPerMinute?: number;
  /** Chance per minute that a held master is released by an operator. */
  releasesPerMinute?: number;
}

export interface SimStats {
  newEpochs: number;
  gaps: number;
  restarts: number;
  reregistrations: number;
  heartbeats: number;
  /** Heartbeats answered from their ticket alone (no new ticket: the same one came back). */
  ticketAnswered: number;
  sweeps: number;
  skipped: number;
  holds: number;
  outages: number;
  partitions: number;
  deaths: number;
  detected: number;
  revivals: number;
  massPartitions: number;
  releases: number;
  slowSweeps: number;
}

export interface SimResult {
  stats: SimStats;
  /** Broken promises, each with the seed and the world time. */
  violations: string[];
  /** A fingerprint of every request, answer and sweep report. */
  digest: string;
  history: string[];
}

interface SimAgent {
  name: string;
  id: string;
  secret: string;
  epoch: number;
  nextAt: number;
  busy: boolean;
  mustReregister: boolean;
  /** World time of its last 2xx. */
  lastOkAt: number;
  diedAt?: number;
  /** A dead agent, once marked, comes back then (its machine repaired). */
  reviveAt?: number;
  cutUntil: number;
  /** Cut off by a partition since its last 2xx: rule 5 no longer protects it, only its silence does. */
  cutSinceOk: boolean;
  marked: boolean;
  /** The last heartbeat's ticket. */
  ticket?: string;
}

interface Instance {
  name: string;
  registrar: Registrar;
  nextSweepAt: number;
  sweeping: boolean;
}

export async function simulate(o: SimOptions): Promise<SimResult> {
  const { policy: p, seed } = o;
  const random = prng(seed);
  const world = new FakeClock();
  const scheduler = new Scheduler(world);
  const start = world.now();
  const t = () => `t+${((world.now() - start) / SECOND).toFixed(2)}s`;
  const history: string[] = [];
  const violations: string[] = [];
  const note = (line: string): void => void history.push(`${t()} ${line}`);
  const violate = (what: string): void => void violations.push(`seed ${seed}, ${t()}: ${what}`);
  const stats: SimStats = {
    newEpochs: 0, gaps: 0, restarts: 0, reregistrations: 0, heartbeats: 0, ticketAnswered: 0, sweeps: 0, skipped: 0, holds: 0,
    outages: 0, partitions: 0, deaths: 0, detected: 0, revivals: 0, massPartitions: 0, releases: 0, slowSweeps: 0,
  };

  // The world's phase decides what the store and the API do.
  type Phase = { kind: PhaseKind; until: number };
  let phase: Phase = { kind: 'serve', until: world.now() + 2 * MINUTE };
  /** World time from which a master served every agent again (after dark, outage, no sweeper). */
  let servedSince = world.now();
  const store = simStore(createMemoryStore(), () => phase.kind, scheduler, o.slowPageMs ?? 0);

  const skew = p.maxClockSkew;
  const skewedClock = (offset: number): Clock => ({
    now: () => world.now() + offset,
    sleep: (ms) => scheduler.until(world.now() + ms),
  });
  let instanceCount = 0;
  const instance = (): Instance => {
    const offset = Math.round(random.between(-skew, skew)); // clocks tell whole milliseconds
    const entropy = seededEntropy(prng(random.int(2 ** 31)));
    return {
      name: `m${++instanceCount}`,
      registrar: createRegistrar({ store, clock: skewedClock(offset), policy: p, entropy }),
      nextSweepAt: world.now() + random.between(0, p.sweepInterval),
      sweeping: false,
    };
  };
  const instances = Array.from({ length: o.instances ?? 3 }, instance);

  const agents: SimAgent[] = [];
  const byId = new Map<string, SimAgent>();

  let master: MasterRecord | undefined;
  const readMaster = async () => (master = (await store.inner.get<MasterRecord>('master'))?.value);

  // The oracles, applied to each sweep's marks as they land.
  const judgeMark = (id: string, by: string) => {
    const a = byId.get(id);
    if (!a || a.marked) return;
    a.marked = true;
    if (a.diedAt !== undefined) {
      stats.detected++;
      a.reviveAt = world.now() + random.between(MINUTE, 5 * MINUTE);
      return;
    }
    // An agent that always got through while a master served is never marked (rule 5); one cut off
    // by a partition may be, but never before it has been silent for the agent timeout.
    const silentFor = world.now() - (a.cutSinceOk ? a.lastOkAt : Math.max(a.lastOkAt, servedSince));
    if (silentFor < p.agentTimeout - 2 * skew) {
      violate(`false positive: ${a.name} marked by ${by} after ${(silentFor / SECOND).toFixed(1)}s of silence (agent timeout ${p.agentTimeout / SECOND}s)`);
    }
  };

  const sweepBy = async (i: Instance) => {
    i.sweeping = true;
    const began = world.now();
    i.nextSweepAt = began + p.sweepInterval; // start to start
    try {
      const report: SweepReport = await i.registrar.sweep();
      stats.sweeps++;
      if (report.outcome === 'skipped') stats.skipped++;
      if (report.step === 'new-epoch') stats.newEpochs++;
      if (report.step === 'gap') stats.gaps++;
      if (report.held) stats.holds++;
      if (world.now() - began > p.sweepInterval) stats.slowSweeps++;
      note(`${i.name} sweep ${report.outcome} ${report.step ?? ''} e${report.epoch ?? ''} marked [${report.marked.map(nameOf).join(',')}] pruned ${report.pruned.length}${report.held ? ' held' : ''}`);
      for (const id of report.marked) judgeMark(id, i.name);
    } catch (err) {
      note(`${i.name} sweep failed: ${(err as Error).name}`);
    } finally {
      i.sweeping = false;
    }
  };
  const nameOf = (id: string) => byId.get(id)?.name ?? id.slice(0, 8);

  const info = (a: { name: string }) => ({ hostname: a.name, port: 5051, resources: {}, attributes: {}, version: '' });

  const act = async (a: SimAgent) => {
    a.busy = true;
    // Every random choice is drawn before the first await.
    const via = random.pick(instances);
    const beat = random.between(0.8 * p.heartbeatInterval, p.heartbeatInterval);
    const backoff = random.between(SECOND, p.heartbeatInterval);
    const delay = random.between(0, p.heartbeatInterval);
    const op = a.mustReregister ? 'reregister' : 'heartbeat';
    const unreachable = phase.kind === 'dark' || world.now() < a.cutUntil;
    try {
      if (unreachable) {
        if (phase.kind !== 'dark') a.cutSinceOk = true;
        note(`${a.name} ${op} -> network error`);
        a.nextAt = world.now() + backoff;
        return;
      }
      if (a.mustReregister) {
        const { epoch } = await via.registrar.reregister(a.id, a.secret, { info: info(a) });
        stats.reregistrations++;
        a.epoch = epoch;
        a.mustReregister = false;
      } else {
        // The ticket of the last heartbeat goes back with the next one, as the agent client does (rule 13).
        const answer = await via.registrar.heartbeat(a.id, a.secret, { epoch: a.epoch, ...(a.ticket ? { ticket: a.ticket } : {}) });
        if (a.ticket !== undefined && answer.ticket === a.ticket) stats.ticketAnswered++;
        a.ticket = answer.ticket;
        stats.heartbeats++;
      }
      note(`${a.name} ${op} via ${via.name} -> 200 e${a.epoch}`);
      a.lastOkAt = world.now();
      a.cutSinceOk = false;
      a.marked = false;
      a.nextAt = world.now() + beat;
    } catch (err) {
      a.ticket = undefined;
      if (err instanceof RefusedError && err.refusal.refused === 'reregister') {
        note(`${a.name} ${op} via ${via.name} -> 409`);
        a.mustReregister = true;
        a.nextAt = world.now() + delay;
      } else if (err instanceof StoreUnavailableError || (err as Error).name === 'NoMasterError') {
        note(`${a.name} ${op} via ${via.name} -> 503`);
        a.nextAt = world.now() + backoff;
      } else {
        violate(`${a.name} ${op} via ${via.name}: ${err}`);
        a.nextAt = world.now() + p.heartbeatInterval;
      }
    } finally {
      a.busy = false;
    }
  };

  // The first sweep, then the fleet registers over a few seconds.
  await sweepBy(instances[0]!);
  for (let n = 0; n < o.agents; n++) {
    const name = `a${n}`;
    const { record, secret, epoch } = await random.pick(instances).registrar.register({ info: info({ name }), by: 'join' });
    const a: SimAgent = { name, id: record.id, secret, epoch, nextAt: world.now() + random.between(0, p.heartbeatInterval), busy: false, mustReregister: false, lastOkAt: world.now(), cutUntil: 0, cutSinceOk: false, marked: false };
    agents.push(a);
    byId.set(a.id, a);
    note(`${name} registered e${epoch}`);
    world.advance(random.between(0, 200));
  }

  const weights = Object.entries(o.phases) as [PhaseKind, number][];
  const total = weights.reduce((s, [, w]) => s + w, 0);
  const gapTest = 2 * p.sweepInterval + skew;
  const nextPhase = (): Phase => {
    const now = world.now();
    const r = random.next() * total;
    let sum = 0;
    const kind = weights.find(([, w]) => {
      sum += w;
      return r < sum;
    })?.[0] ?? 'serve';
    switch (kind) {
      case 'serve': return { kind, until: now + random.between(MINUTE, 5 * MINUTE) };
      case 'gap': return { kind, until: now + random.between(gapTest + SECOND, p.masterLease - SECOND) };
      case 'failover': return { kind, until: now + random.between(p.masterLease + 2 * skew + SECOND, 10 * MINUTE) };
      case 'dark': return { kind, until: now + random.between(5 * SECOND, 3 * p.masterLease) };
      // A store outage shorter than the gap test: the sweeps that follow see no gap.
      case 'outage': return { kind, until: now + random.between(SECOND, gapTest - SECOND) };
      case 'slow': return { kind, until: now + random.between(MINUTE, 10 * MINUTE) };
      case 'restart': return { kind, until: now + random.between(0, 20 * SECOND) };
    }
  };
  const perStep = (perMinute = 0) => perMinute * (STEP / MINUTE);

  const inFlight = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };

  /**
   * Bounded detection (rule 5): a dead agent is marked within the bound of service, counted from the
   * latest of its last 2xx, the end of the last time no master served, the close of a window it
   * missed, and the last moment a hold covered it. Holds cover agents that missed the window (a
   * window hold) or silent ones (a liveness hold); current-epoch agents are never exempt from a
   * window hold.
   */
  let livenessHeldAt = Number.NEGATIVE_INFINITY;
  let windowHeldAt = Number.NEGATIVE_INFINITY;
  async function checkDetection(now: number) {
    await readMaster();
    if (!master) return;
    const { recovery } = master;
    if (recovery.livenessHold) livenessHeldAt = now;
    if (recovery.windowHold || (recovery.state === 'recovering' && (recovery.deadline ?? 0) > now)) windowHeldAt = now;
    const bound = p.agentTimeout + p.livenessGranularity + p.sweepInterval + 2 * skew + 2 * STEP + 2 * (o.slowPageMs ?? 0);
    for (const a of agents) {
      if (a.diedAt === undefined || a.marked) continue;
      const r = (await store.inner.get<AgentRecord>(`agents/${a.id}`))?.value;
      if (r?.status !== 'admitted') {
        a.marked = true;
        continue;
      }
      const missedWindow = r.epoch !== master.epoch;
      const from = Math.max(a.lastOkAt, servedSince, livenessHeldAt, missedWindow ? windowHeldAt : Number.NEGATIVE_INFINITY);
      if (now - from > bound) {
        violate(`missed detection: ${a.name} dead since ${((a.diedAt - start) / SECOND).toFixed(1)}s, silent for ${((now - from) / SECOND).toFixed(1)}s of service, still admitted (${recovery.state})`);
        a.marked = true; // one report per agent
      }
    }
  }

  const end = start + o.duration;
  while (world.now() < end || inFlight.size > 0) {
    world.advance(STEP);
    scheduler.fire();
    const now = world.now();
    const ending = now >= end;
    if (!ending && now >= phase.until) {
      const before = phase.kind;
      phase = nextPhase();
      note(`phase ${phase.kind} until ${((phase.until - start) / SECOND).toFixed(1)}s`);
      if (phase.kind === 'outage') stats.outages++;
      if (phase.kind === 'restart') {
        instances[random.int(instances.length)] = instance();
        stats.restarts++;
      }
      // Service resumes: silence before now is excused (rule 3's floor, rule 4's window).
      if (['dark', 'outage', 'gap', 'failover'].includes(before)) servedSince = now;
    }
    const sweeping = !['gap', 'failover', 'dark', 'outage'].includes(phase.kind);
    if (!sweeping) servedSince = now;
    if (!ending) {
      // Agents: some are cut off for a while, one dies now and then.
      if (random.next() < perStep(o.partitionsPerMinute)) {
        const cut = agents.filter((a) => a.diedAt === undefined && random.next() < 0.25);
        const until = now + random.between(5 * SECOND, o.partitionMax ?? 2 * p.agentTimeout);
        for (const a of cut) a.cutUntil = until;
        if (cut.length > 0) note(`partition: ${cut.map((a) => a.name).join(',')} until ${((until - start) / SECOND).toFixed(1)}s`);
        stats.partitions++;
      }
      if (random.next() < perStep(o.massPartitionsPerMinute)) {
        const cut = agents.filter((a) => a.diedAt === undefined && random.next() < 0.6);
        const until = now + random.between(2 * MINUTE, 12 * MINUTE);
        for (const a of cut) a.cutUntil = until;
        note(`mass partition: ${cut.length} agents until ${((until - start) / SECOND).toFixed(1)}s`);
        stats.massPartitions++;
      }
      for (const a of agents) {
        if (a.reviveAt !== undefined && now >= a.reviveAt) {
          a.diedAt = undefined;
          a.reviveAt = undefined;
          a.nextAt = now;
          stats.revivals++;
          note(`${a.name} comes back`);
        }
      }
      if (random.next() < perStep(o.deathsPerMinute)) {
        const alive = agents.filter((a) => a.diedAt === undefined);
        if (alive.length > 0.75 * o.agents) {
          const a = random.pick(alive);
          a.diedAt = now;
          stats.deaths++;
          note(`${a.name} dies`);
        }
      }
      if (random.next() < perStep(o.releasesPerMinute)) {
        const via = random.pick(instances);
        track(via.registrar.releaseHold({ by: 'operator' }).then(
          () => {
            stats.releases++;
            note(`release via ${via.name} -> 200`);
          },
          (err: Error) => note(`release via ${via.name} -> ${err instanceof RefusedError ? err.refusal.refused : err.name}`),
        ));
      }
      for (const a of agents) {
        if (a.diedAt === undefined && !a.busy && now >= a.nextAt) track(act(a));
      }
      for (const i of instances) {
        if (sweeping && !i.sweeping && now >= i.nextSweepAt) track(sweepBy(i));
      }
    }
    await settle();
    if (Math.floor(now / SECOND) !== Math.floor((now - STEP) / SECOND)) await checkDetection(now);
  }

  const digest = createHash('sha256').update(history.join('\n')).digest('hex');
  return { stats, violations, digest, history };
}

/**
 * The shared store as the world makes it: unavailable during an outage, and slow to scan (time
 * passes per page) during a slow phase.
 */
function simStore(inner: Store, phase: () => PhaseKind, scheduler: Scheduler, slowPageMs: number): Store & { inner: Store } {
  const available = () => {
    if (phase() === 'outage') throw new StoreUnavailableError('simulated outage', { outcome: 'not-applied' });
  };
  return {
    inner,
    async get(key) {
      available();
      return inner.get(key);
    },
    async list(prefix, opts) {
      available();
      // The slow pages are a large registry's agents; its few frameworks are one quick page.
      if (phase() === 'slow' && slowPageMs > 0 && !prefix.startsWith('frameworks/')) await scheduler.until(scheduler.world.now() + slowPageMs);
      return inner.list(prefix, opts);
    },
    async commit(writes) {
      available();
      return inner.commit(writes);
    },
    close: () => inner.close(),
  };
}

export type { Prng };
