// The one conformance suite on the Durable Objects store, inside workerd: each open() is a fresh
// Registry object, and every store call runs inside that object (runInDurableObject), on its own
// SQLite storage. reopen() restarts the object over its persisted storage.
import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import type { DurableObjectState, DurableObjectStub } from '@cloudflare/workers-types';
import { createDurableObjectStore, type SqlStorageHost } from '../../adapters/durable-objects/index.ts';
import { STORE_LIMITS, StoreUnavailableError, type Store } from '../../src/store.ts';
import { testAdapter } from '../conformance/index.ts';
import { faultSwitch, type FaultSwitch } from '../conformance/faults.ts';
import type { StoreHandle } from '../conformance/suite.ts';

/** The store of the object instance behind `state`, built there once. */
const stores = new WeakMap<DurableObjectState, Store>();
const storeOf = (state: DurableObjectState, faults: FaultSwitch) => {
  let store = stores.get(state);
  if (!store) {
    store = createDurableObjectStore(faulty(state.storage, faults));
    stores.set(state, store);
  }
  return store;
};

/** A handle on the store inside the object behind `stub`: every call runs in there. */
function storeInside(stub: DurableObjectStub, faults: FaultSwitch): Store {
  let closed = false;
  const inside = <R>(call: (store: Store) => Promise<R>): Promise<R> => {
    if (closed) return Promise.reject(new StoreUnavailableError('durable-objects store is closed'));
    return runInDurableObject(stub, (_, state) => call(storeOf(state, faults)));
  };
  return {
    get: (key) => inside((s) => s.get(key)),
    list: (prefix, opts) => inside((s) => s.list(prefix, opts)),
    commit: (writes) => inside((s) => s.commit(writes)),
    close: async () => {
      closed = true;
    },
  };
}
/** The storage, with a transient failure armed on the next transaction: before it runs, or after it committed. */
function faulty(storage: SqlStorageHost, faults: FaultSwitch): SqlStorageHost {
  return {
    sql: storage.sql,
    transactionSync<T>(closure: () => T): T {
      const mode = faults.take();
      if (mode === 'before') throw new Error('injected: storage error before the transaction');
      const result = storage.transactionSync(closure);
      if (mode === 'after') throw new Error('injected: storage error after the transaction committed');
      return result;
    },
  };
}

const objects = new WeakMap<StoreHandle, { stub: DurableObjectStub; faults: FaultSwitch }>();

testAdapter('durable-objects', {
  durable: true,
  // A storage error before the transaction ran applied nothing, and the adapter knows it.
  faultInjection: { unsent: 'not-applied' },
  async open(): Promise<StoreHandle> {
    const stub = env.REGISTRY.get(env.REGISTRY.idFromName(crypto.randomUUID()));
    const faults = faultSwitch();
    const handle: StoreHandle = {
      store: storeInside(stub, faults),
      async reopen() {
        await evictDurableObject(stub);
        return storeInside(stub, faults);
      },
      faults,
    };
    objects.set(handle, { stub, faults });
    return handle;
  },
  // Through the contract, in commits of 25, all inside the object in one call.
  async bulkLoad(handle, items) {
    const { stub, faults } = objects.get(handle)!;
    await runInDurableObject(stub, async (_, state) => {
      const store = storeOf(state, faults);
      for (let i = 0; i < items.length; i += STORE_LIMITS.writesPerCommit) {
        await store.commit(items.slice(i, i + STORE_LIMITS.writesPerCommit).map(({ key, value }) => ({ key, expect: 'absent' as const, put: value })));
      }
    });
  },
});
