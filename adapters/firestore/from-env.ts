// For entry files: a store on a Firestore client built from Google's own environment (project,
// credentials, FIRESTORE_EMULATOR_HOST), so that only this adapter imports the SDK.
import { Firestore } from '@google-cloud/firestore';
import type { Store } from '../../src/store.ts';
import { createFirestoreStore, type FirestoreStoreOptions } from './index.ts';

/** `deadlineMs`: how long one store call may take (default DEFAULT_DEADLINE_MS, index.ts). */
export function openFirestoreStore(collection: string, options: Pick<FirestoreStoreOptions, 'deadlineMs'> = {}): Store {
  return createFirestoreStore({ firestore: new Firestore(), collection, ...options });
}
