// The one conformance suite on the Durable Objects store, inside workerd: each open() is a fresh
// Registry object, and every store call runs inside that object (runInDurableObject), on its own
// SQLite storage. reopen() restarts the object over its persisted storage.
import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import type { DurableObjectState, DurableObjectStub } from '@cloudflare/workers-types';
import { createDurableObjectStore, type SqlStorageHost } from '../../adapters/durable-objects/index.ts';
import { STORE_LIMITS, StoreUnavailableError, type Store } from '../../src/store.ts';
import { testAdapter } from '../conformance/index.ts';
import type { StoreHandle } from '../conformance/suite.ts';

type Fault = 'before' | 'after' | undefined;

/** The store of the object instance behind `state`, built there once. */
const stores = new WeakMap<DurableObjectState, Store>();
const storeOf = (state: DurableObjectState, fault: { next: Fault }) => {
  let store = stores.get(state);
  if (!store) {
    store = createDurableObjectStore(faulty(state.storage, fault));
    stores.set(state, store);
  }
  return store;
};

/** A handle on the store inside the object behind `stub`: every call runs in there. */
function storeInside(stub: DurableObjectStub, fault: { next: Fault }): Store {
  let closed = false;
  const inside = <R>(call: (store: Store) => Promise<R>): Promise<R> => {
    if (closed) return Promise.reject(new StoreUnavailableError('durable-objects store is closed'));
    return runInDurableObject(stub, (_, state) => call(storeOf(state, fault)));
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
function faulty(storage: SqlStorageHost, fault: { next: Fault }): SqlStorageHost {
  return {
    sql: storage.sql,
    transactionSync<T>(closure: () => T): T {
      const mode = fault.next;
      fault.next = undefined;
      if (mode === 'before') throw new Error('injected: storage error before the transaction');
      const result = storage.transactionSync(closure);
      if (mode === 'after') throw new Error('injected: storage error after the transaction committed');
      return result;
    },
  };
}

const stubs = new WeakMap<StoreHandle, DurableObjectStub>();

testAdapter('durable-objects', {
  async open(): Promise<StoreHandle> {
    const stub = env.REGISTRY.get(env.REGISTRY.idFromName(crypto.randomUUID()));
    const fault: { next: Fault } = { next: undefined };
    const handle: StoreHandle = {
      store: storeInside(stub, fault),
      async reopen() {
        await evictDurableObject(stub);
        return storeInside(stub, fault);
      },
      failNextWrite: (mode) => {
        fault.next = mode;
      },
    };
    stubs.set(handle, stub);
    return handle;
  },
  // Through the contract, in commits of 25, all inside the object in one call.
  async bulkLoad(handle, items) {
    await runInDurableObject(stubs.get(handle)!, async (_, state) => {
      const store = storeOf(state, { next: undefined });
      for (let i = 0; i < items.length; i += STORE_LIMITS.writesPerCommit) {
        await store.commit(items.slice(i, i + STORE_LIMITS.writesPerCommit).map(({ key, value }) => ({ key, expect: 'absent' as const, put: value })));
      }
    });
  },
});
