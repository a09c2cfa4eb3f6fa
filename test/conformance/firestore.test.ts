import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { inject } from 'vitest';
import { createFirestoreStore, loadRecords } from '../../adapters/firestore/index.ts';
import { clearEmulatorProject, commitFaults, emulatorClient } from '../services/firestore.ts';
import { testAdapter, type StoreHandle, type StoreHarness } from './index.ts';

const service = inject('firestore');

function emulatorHarness(host: string): StoreHarness {
  const project = `registrar-test-${randomUUID().slice(0, 8)}`; // this file's own data on the emulator
  const collections = new WeakMap<StoreHandle, { firestore: Firestore; collection: string }>();
  return {
    async open() {
      const collection = `records-${randomUUID()}`;
      const firestore = emulatorClient(host, project);
      const handle: StoreHandle = {
        store: createFirestoreStore({ firestore, collection }),
        reopen: async () => createFirestoreStore({ firestore: emulatorClient(host, project), collection }),
        failNextWrite: commitFaults(firestore),
        dispose: () => clearEmulatorProject(host, project),
      };
      collections.set(handle, { firestore, collection });
      return handle;
    },
    bulkLoad: (handle, items) => {
      const { firestore, collection } = collections.get(handle)!;
      return loadRecords(firestore, collection, items);
    },
  };
}

testAdapter('firestore', 'skip' in service ? { skip: service.skip, open: () => Promise.reject(new Error(service.skip)) } : emulatorHarness(service.host));
