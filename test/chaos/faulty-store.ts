// A store that fails the way real ones do, on a seeded schedule: latency, unavailability before a
// write was sent (not applied), a timeout after it applied (unknown outcome), and spurious conflicts
// on commits that never applied. Every fault fired is counted, so a run proves what it exercised.
import { ConflictError, StoreUnavailableError, type Store, type Write } from '../../src/store.ts';
import type { Prng } from '../support/random.ts';
import type { Scheduler } from '../support/scheduler.ts';

export interface FaultRates {
  /** Chance that a call waits up to `maxLatencyMs` of world time first. */
  latency: number;
  maxLatencyMs: number;
  /** Chance that a call fails before it reaches the store. */
  unavailable: number;
  /** Chance that a commit applies and then its answer is lost. */
  appliedThenLost: number;
  /** Chance that a commit is refused with a conflict without applying. */
  conflict: number;
}

export const NO_FAULTS: FaultRates = { latency: 0, maxLatencyMs: 0, unavailable: 0, appliedThenLost: 0, conflict: 0 };

export interface FaultCounts {
  latency: number;
  unavailable: number;
  appliedThenLost: number;
  conflict: number;
}

export interface FaultyStore extends Store {
  counts: FaultCounts;
  rates: FaultRates;
  /** While true, every call fails unsent (this instance is cut off from the store). */
  cut: boolean;
}

/** `random` must be drawn in a fixed order: every decision is drawn before the call awaits anything. */
export function faultyStore(inner: Store, random: Prng, scheduler: Scheduler, rates: FaultRates): FaultyStore {
  const counts: FaultCounts = { latency: 0, unavailable: 0, appliedThenLost: 0, conflict: 0 };
  const store: FaultyStore = {
    counts,
    rates,
    cut: false,
    async get(key) {
      const { wait, fail } = draw();
      await wait;
      if (fail) throw unavailable();
      return inner.get(key);
    },
    async list(prefix, opts) {
      const { wait, fail } = draw();
      await wait;
      if (fail) throw unavailable();
      return inner.list(prefix, opts);
    },
    async commit(writes: Write[]) {
      const { wait, fail } = draw();
      const lost = random.next() < store.rates.appliedThenLost;
      const conflict = random.next() < store.rates.conflict;
      await wait;
      if (fail) throw unavailable();
      if (conflict) {
        counts.conflict++;
        throw new ConflictError(writes[0]!.key);
      }
      const versions = await inner.commit(writes);
      if (lost) {
        counts.appliedThenLost++;
        throw new StoreUnavailableError('injected: applied, then the answer was lost', { outcome: 'unknown' });
      }
      return versions;
    },
    close: () => inner.close(),
  };

  function draw() {
    const slow = random.next() < store.rates.latency;
    const delay = random.next() * store.rates.maxLatencyMs;
    const fail = store.cut || random.next() < store.rates.unavailable;
    if (slow) counts.latency++;
    if (fail) counts.unavailable++;
    return { wait: slow ? scheduler.until(scheduler.world.now() + delay) : Promise.resolve(), fail };
  }
  const unavailable = () => new StoreUnavailableError(store.cut ? 'injected: cut off from the store' : 'injected: unavailable', { outcome: 'not-applied' });
  return store;
}
