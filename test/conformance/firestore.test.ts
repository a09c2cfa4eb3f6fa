import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createFirestoreStore, loadRecords } from '../../adapters/firestore/index.ts';
import { StoreUnavailableError, type Store } from '../../src/store.ts';
import { clearEmulatorProject, commitFaults, emulatorClient } from '../services/firestore.ts';
import { testAdapter, type StoreHandle, type StoreHarness } from './index.ts';

const service = inject('firestore');
const project = `registrar-test-${randomUUID().slice(0, 8)}`; // this file's own data on the emulator

function openStore(host: string) {
  const collection = `records-${randomUUID()}`;
  const firestore = emulatorClient(host, project);
  return { firestore, collection, store: createFirestoreStore({ firestore, collection }), fail: commitFaults(firestore) };
}

function emulatorHarness(host: string): StoreHarness {
  const opened = new WeakMap<StoreHandle, { firestore: Firestore; collection: string }>();
  return {
    // The emulator answers a query in time proportional to the collection, so scans are slow.
    slowness: 2,
    durable: true,
    faultInjection: {},
    async open() {
      const { firestore, collection, store, fail } = openStore(host);
      const handle: StoreHandle = {
        store,
        reopen: async () => createFirestoreStore({ firestore: emulatorClient(host, project), collection }),
        faults: fail,
        dispose: () => clearEmulatorProject(host, project),
      };
      opened.set(handle, { firestore, collection });
      return handle;
    },
    bulkLoad: (handle, items) => {
      const { firestore, collection } = opened.get(handle)!;
      return loadRecords(firestore, collection, items);
    },
  };
}

testAdapter('firestore', 'skip' in service ? { skip: service.skip, open: () => Promise.reject(new Error(service.skip)) } : emulatorHarness(service.host));

describe.skipIf('skip' in service)(`firestore: commits whose answer was lost${'skip' in service ? ` (SKIPPED: ${service.skip})` : ''}`, () => {
  const stores: Store[] = [];
  const open = () => {
    const opened = openStore((service as { host: string }).host);
    stores.push(opened.store);
    return opened;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it('recognizes its own applied commit by the commit id on the documents it put', async () => {
    const { store, fail } = open();
    fail.failNextWrite('after');
    const versions = await store.commit([{ key: 'a', expect: 'absent', put: 1 }, { key: 'b', expect: 'absent', put: 2 }]);
    expect(await store.get('a')).toEqual({ key: 'a', value: 1, version: versions.a });
    expect((await store.get('b'))?.version).toBe(versions.b);
    expect(fail.fired()).toBe(1);
  });

  it('takes no conflict from a resent commit that had already applied', async () => {
    const { store, fail } = open();
    const v1 = (await store.commit([{ key: 'a', expect: 'absent', put: 1 }])).a!;
    fail.failNextWrite('resent');
    const versions = await store.commit([{ key: 'a', expect: v1, put: 2 }, { key: 'b', expect: 'absent', put: 3 }]);
    expect(await store.get('a')).toEqual({ key: 'a', value: 2, version: versions.a });
    expect(fail.fired()).toBe(1);
  });

  it('answers unknown, not conflict, for a resent delete that had already applied', async () => {
    const { store, fail } = open();
    const v1 = (await store.commit([{ key: 'a', expect: 'absent', put: 1 }])).a!;
    fail.failNextWrite('resent');
    const err = await store.commit([{ key: 'a', expect: v1, delete: true }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).outcome).toBe('unknown');
    expect(await store.get('a')).toBeUndefined();
    expect(fail.fired()).toBe(1);
  });
});
