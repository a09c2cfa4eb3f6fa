// A store that times and counts each call into the app's metrics, by adapter and operation. Entry
// files wrap the store they open with it; it changes no answer and no error.
import { AGENT_PREFIX } from '../registrar/core.ts';
import { ConflictError, StoreUnavailableError, type Store } from '../store.ts';
import type { Metrics, StoreOperation, StoreResult } from './index.ts';

const resultOf = (err: unknown): StoreResult => {
  if (err instanceof ConflictError) return 'conflict';
  if (err instanceof StoreUnavailableError) return err.outcome === 'unknown' ? 'unknown' : 'unavailable';
  return 'error';
};

export function meteredStore(inner: Store, adapter: string, metrics: Metrics): Store {
  async function measure<R>(operation: StoreOperation, call: () => Promise<R>, after?: (ms: number) => void): Promise<R> {
    const started = performance.now();
    let result: StoreResult = 'ok';
    try {
      return await call();
    } catch (err) {
      result = resultOf(err);
      throw err;
    } finally {
      const ms = performance.now() - started;
      metrics.storeOperations.inc({ adapter, operation, result });
      metrics.storeDuration.observe({ adapter, operation }, ms / 1000);
      after?.(ms);
    }
  }

  return {
    get: (key) => measure('get', () => inner.get(key), (ms) => metrics.stateFetchMs.observe(ms)),
    async list(prefix, opts) {
      const page = await measure('list', () => inner.list(prefix, opts));
      // One record a page: a scan of the whole registry sizes a hundredth of it, not all of it.
      if (prefix === AGENT_PREFIX && page.items[0]) metrics.recordBytes.sample(page.items[0].value);
      return page as never;
    },
    commit(writes) {
      metrics.queuedOperations.inc();
      return measure('commit', () => inner.commit(writes), (ms) => {
        metrics.queuedOperations.dec();
        metrics.stateStoreMs.observe(ms);
      });
    },
    close: () => inner.close(),
    ...(inner.problem ? { problem: () => inner.problem!() } : {}),
  };
}
