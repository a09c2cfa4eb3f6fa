// Rule 5, no false positives, as a randomized simulation: several masters share one store, each
// with its own clock skewed by up to ±maxClockSkew and its own cached master record; sweeps stop for
// gaps and failovers, the API goes dark, instances restart. Agents follow the protocol. Nobody may
// ever be marked unreachable, nor may marking be held. Every source of order and randomness comes
// from the seed (the registrar's ids, secrets and jitter too), so a seed replays the same history.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FakeClock, type Clock } from '../../src/clock.ts';
import { RefusedError, createRegistrar, type Registrar, type SweepReport } from '../../src/registrar.ts';
import type { Policy } from '../../src/registry/index.ts';
import type { Store } from '../../src/store.ts';
import { defaultPolicy } from '../support/master.ts';
import { prng, seededEntropy } from '../support/random.ts';
import { MINUTE, SECOND } from './world.ts';

const skewedClock = (world: FakeClock, offset: number): Clock => ({ now: () => world.now() + offset, sleep: (ms) => world.sleep(ms) });

interface Instance {
  registrar: Registrar;
  nextSweepAt: number;
}

interface SimAgent {
  id: string;
  secret: string;
  epoch: number;
  nextAt: number;
  mustReregister: boolean;
}

type Phase = { kind: 'serve' | 'gap' | 'failover' | 'dark' | 'restart'; until: number };

interface Stats {
  newEpochs: number;
  gaps: number;
  restarts: number;
  reregistrations: number;
  heartbeats: number;
  sweeps: number;
}

/** `dark`: whether the whole API also goes dark (no heartbeat gets through) at times. */
async function simulate(seed: number, policy: Policy, duration: number, agentCount: number, dark = true): Promise<Stats> {
  const random = prng(seed);
  const world = new FakeClock();
  const store: Store = createMemoryStore();
  const skew = policy.maxClockSkew;
  const instance = (): Instance => ({
    registrar: createRegistrar({ store, clock: skewedClock(world, random.between(-skew, skew)), policy }),
    nextSweepAt: world.now() + random.between(0, policy.sweepInterval),
  });
  const instances = [instance(), instance(), instance()];
  const stats: Stats = { newEpochs: 0, gaps: 0, restarts: 0, reregistrations: 0, heartbeats: 0, sweeps: 0 };
  const where = () => `seed ${seed}, t+${(world.now() - start) / SECOND}s`;
  const start = world.now();

  const check = (report: SweepReport) => {
    stats.sweeps++;
    if (report.step === 'new-epoch') stats.newEpochs++;
    if (report.step === 'gap') stats.gaps++;
    expect(report.marked, `marked at ${where()}: ${report.notes.join('; ')}`).toEqual([]);
    expect(report.held, where()).toBeUndefined();
  };
  check(await instances[0]!.registrar.sweep());

  const agents: SimAgent[] = [];
  for (let i = 0; i < agentCount; i++) {
    const { record, secret, epoch } = await random.pick(instances).registrar.register({ info: { hostname: `h${i}`, port: 5051, resources: {}, attributes: {}, version: '' }, by: 'join' });
    agents.push({ id: record.id, secret, epoch, nextAt: world.now() + random.between(0, policy.heartbeatInterval), mustReregister: false });
    world.advance(random.between(0, 500));
  }

  // What the masters do next: serve normally, skip sweeps for a gap or past the lease, go dark, restart.
  let phase: Phase = { kind: 'serve', until: world.now() + MINUTE };
  const nextPhase = (): Phase => {
    const now = world.now();
    const gapMin = 2 * policy.sweepInterval + skew + SECOND;
    const r = random.next();
    if (r < 0.3) return { kind: 'serve', until: now + random.between(MINUTE, 5 * MINUTE) };
    if (r < 0.6) return { kind: 'gap', until: now + random.between(gapMin, policy.masterLease - SECOND) };
    if (r < 0.75) return { kind: 'failover', until: now + random.between(policy.masterLease + 2 * skew + SECOND, 10 * MINUTE) };
    if (r < 0.9) return dark ? { kind: 'dark', until: now + random.between(5 * SECOND, 3 * policy.masterLease) } : { kind: 'serve', until: now + MINUTE };
    return { kind: 'restart', until: now + random.between(0, 20 * SECOND) };
  };

  const act = async (a: SimAgent) => {
    const now = world.now();
    if (phase.kind === 'dark') {
      a.nextAt = now + random.between(SECOND, policy.heartbeatInterval); // retries with backoff, capped
      return;
    }
    const { registrar } = random.pick(instances);
    try {
      if (a.mustReregister) {
        const { epoch } = await registrar.reregister(a.id, a.secret, { info: { hostname: a.id, port: 5051, resources: {}, attributes: {}, version: '' } });
        stats.reregistrations++;
        a.epoch = epoch;
        a.mustReregister = false;
      } else {
        await registrar.heartbeat(a.id, a.secret, { epoch: a.epoch });
        stats.heartbeats++;
      }
      a.nextAt = now + random.between(0.8 * policy.heartbeatInterval, policy.heartbeatInterval);
    } catch (err) {
      if (!(err instanceof RefusedError) || err.refusal.refused !== 'reregister') throw new Error(`agent ${a.id} at ${where()}: ${err}`);
      a.mustReregister = true; // after a random delay of up to one heartbeat interval
      a.nextAt = now + random.between(0, policy.heartbeatInterval);
    }
  };

  while (world.now() - start < duration) {
    world.advance(250);
    const now = world.now();
    if (now >= phase.until) {
      phase = nextPhase();
      if (phase.kind === 'restart') {
        instances[Math.floor(random.next() * instances.length)] = instance();
        stats.restarts++;
      }
    }
    const sweeping = phase.kind === 'serve' || phase.kind === 'restart';
    const due: Promise<unknown>[] = agents.filter((a) => now >= a.nextAt).map(act);
    for (const i of instances) {
      if (now < i.nextSweepAt) continue;
      i.nextSweepAt = now + random.between(0.9 * policy.sweepInterval, policy.sweepInterval);
      if (sweeping) due.push(i.registrar.sweep().then(check));
    }
    await Promise.all(due); // concurrent requests and sweeps interleave on the store
  }

  for (const a of agents) {
    const item = await store.get<{ status: string }>(`agents/${a.id}`);
    expect(item?.value.status, `${a.id} at the end`).toBe('admitted');
  }
  return stats;
}

describe('no false positives (rule 5)', () => {
  it('no false positives: an agent heartbeating every heartbeatInterval is never marked across lease gaps, restarts and clock skew up to maxClockSkew', async () => {
    const totals: Stats = { newEpochs: 0, gaps: 0, restarts: 0, reregistrations: 0, heartbeats: 0, sweeps: 0 };
    for (const seed of [1, 2]) {
      const stats = await simulate(seed, defaultPolicy(), 2 * 60 * MINUTE, 12);
      for (const k of Object.keys(totals) as (keyof Stats)[]) totals[k] += stats[k];
    }
    // The run exercised what it claims to.
    expect(totals.newEpochs).toBeGreaterThan(3);
    expect(totals.gaps).toBeGreaterThan(3);
    expect(totals.restarts).toBeGreaterThan(1);
    expect(totals.reregistrations).toBeGreaterThan(30);
  }, 120_000);

  it('no false positives with tight timings (30 s timeout, 20 s granularity, 15 s lease)', async () => {
    const policy: Policy = {
      ...defaultPolicy(),
      agentTimeout: 30 * SECOND,
      livenessGranularity: 20 * SECOND,
      masterLease: 15 * SECOND,
      reregisterTimeout: 2 * MINUTE,
    };
    for (const seed of [11, 12]) await simulate(seed, policy, 60 * MINUTE, 12);
  }, 120_000);

  it('no false positives with Lambda’s timings (a sweep a minute, a 150 s lease) when only the sweeper stops', async () => {
    const policy = { ...defaultPolicy(), sweepInterval: 60 * SECOND, masterLease: 150 * SECOND };
    const stats = await simulate(7, policy, 3 * 60 * MINUTE, 8, false);
    expect(stats.newEpochs).toBeGreaterThan(0);
  }, 120_000);
});
