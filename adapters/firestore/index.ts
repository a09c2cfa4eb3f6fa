// The Firestore store: one collection, one document per key. Every commit is one batched write
// whose preconditions carry the expectations, so it is atomic and decided by Firestore itself.
import { randomUUID } from 'node:crypto';
import {
  FieldPath, FieldValue,
  type DocumentSnapshot, type Firestore, type WriteBatch, type WriteResult,
} from '@google-cloud/firestore';
import { decodeCursor, encodeCursor, isAfterKey } from '../shared/cursor.ts';
import { COMMIT_FIELD, UNWRITTEN_FIELD, VALUE_FIELD, documentId, keyOf, recordDocument, updateTimeOf, versionOf } from './document.ts';
import { classifyFirestoreError } from './errors.ts';
import {
  ConflictError, StoreLimitError, StoreUnavailableError, assertKey, expectationHolds, isCheck, isDelete, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type PreparedWrite, type Store, type Version, type Write,
} from '../../src/store.ts';

export { loadRecords } from './bulk-load.ts';

export interface FirestoreStoreOptions {
  /** The client; the store owns it from now on and terminates it on close. */
  firestore: Firestore;
  /** The collection (path) holding the records; nothing else should write there. */
  collection: string;
}

export function createFirestoreStore({ firestore, collection }: FirestoreStoreOptions): Store {
  const records = firestore.collection(collection);
  let closed = false;

  /** Runs a read, turning transient failures into StoreUnavailableError. */
  const read = async <R>(op: () => Promise<R>): Promise<R> => {
    if (closed) throw new StoreUnavailableError('firestore store is closed');
    try {
      return await op();
    } catch (err) {
      if (classifyFirestoreError(err) === 'fatal') throw err;
      throw new StoreUnavailableError(`firestore read failed: ${messageOf(err)}`, { cause: err });
    }
  };

  return {
    async get<T>(key: string): Promise<Item<T> | undefined> {
      assertKey(key);
      return await read(async () => {
        const snapshot = await records.doc(documentId(key)).get();
        return snapshot.exists ? itemOf<T>(snapshot) : undefined;
      });
    },

    async list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>> {
      if (typeof prefix !== 'string') throw new StoreLimitError('a list prefix must be a string');
      const limit = pageLimit(opts);
      const idPrefix = documentId(prefix);
      const after = opts?.cursor === undefined ? undefined : decodeCursor(opts.cursor, isAfterKey).after;
      if (after !== undefined && (!after.startsWith(idPrefix) || after === '' || after.includes('/'))) {
        throw new StoreLimitError('list cursor does not belong to this prefix');
      }
      return await read(async () => {
        // A prefix's ids form one range that starts at the prefix's own id (see document.ts); we read
        // one document past the page to learn whether the range goes on.
        let query = records.orderBy(FieldPath.documentId());
        if (after !== undefined) query = query.startAfter(after);
        else if (idPrefix !== '') query = query.startAt(idPrefix);
        const { docs } = await query.limit(limit + 1).get();
        const end = docs.findIndex((doc) => !doc.id.startsWith(idPrefix));
        const inRange = end === -1 ? docs : docs.slice(0, end);
        const page = inRange.slice(0, limit);
        const items = page.map((doc) => itemOf<T>(doc));
        return inRange.length > limit ? { items, cursor: encodeCursor({ after: page.at(-1)!.id }) } : { items };
      });
    },

    async commit(writes: Write[]): Promise<Record<string, Version>> {
      const prepared = prepareCommit(writes);
      if (closed) throw new StoreUnavailableError('firestore store is closed');
      // Marks every document this commit puts, so that a commit whose answer was lost can be recognized.
      const commitId = randomUUID();
      const batch = firestore.batch();
      for (const write of prepared) addWrite(batch, write, commitId);
      let results: WriteResult[];
      try {
        results = await batch.commit();
      } catch (err) {
        return resolveFailedCommit(prepared, commitId, err);
      }
      const versions: Record<string, Version> = {};
      for (const [i, { write, json }] of prepared.entries()) {
        if (json !== undefined) versions[write.key] = versionOf(write.key, results[i]!.writeTime);
      }
      return versions;
    },

    async close() {
      if (closed) return;
      closed = true;
      await firestore.terminate();
    },
  };

  function addWrite(batch: WriteBatch, { write, json }: PreparedWrite, commitId: string): void {
    const ref = records.doc(documentId(write.key));
    const { expect } = write;
    if (expect === 'any') {
      if (json !== undefined) batch.set(ref, recordDocument(json, commitId));
      else if (isDelete(write)) batch.delete(ref);
      return;
    }
    if (expect === 'absent') {
      if (json !== undefined) batch.create(ref, recordDocument(json, commitId));
      else batch.delete(ref, { exists: false }); // a check: deletes nothing, fails if the key exists
      return;
    }
    const lastUpdateTime = updateTimeOf(write.key, expect);
    if (lastUpdateTime === undefined) throw new ConflictError(write.key); // a version this key never had
    if (json !== undefined) batch.update(ref, { ...recordDocument(json, commitId) }, { lastUpdateTime });
    else if (isDelete(write)) batch.delete(ref, { lastUpdateTime });
    else if (isCheck(write)) {
      // An update that changes nothing keeps the document's update time, so the version stays.
      batch.update(ref, { [UNWRITTEN_FIELD]: FieldValue.delete() }, { lastUpdateTime });
    }
  }

  /**
   * Decides what a failed commit means. The SDK itself resends a commit after some transient errors,
   * so even a conflict may be the echo of our own applied attempt. Our commit id on every document
   * it puts proves it applied; a conflict is reported only where the current state breaks an
   * expectation in a way our own commit could not have caused; anything else stays unknown unless
   * the state proves the commit never applied.
   */
  async function resolveFailedCommit(prepared: PreparedWrite[], commitId: string, err: unknown): Promise<Record<string, Version>> {
    const failure = classifyFirestoreError(err, { preconditioned: prepared.some(({ write }) => write.expect !== 'any') });
    if (failure === 'fatal') throw err;
    const unavailable = (outcome: 'not-applied' | 'unknown') =>
      new StoreUnavailableError(`firestore commit failed: ${messageOf(err)}`, { outcome, cause: err });
    let snapshots: DocumentSnapshot[];
    try {
      snapshots = await firestore.getAll(...prepared.map(({ write }) => records.doc(documentId(write.key))), { fieldMask: [COMMIT_FIELD] });
    } catch {
      throw unavailable('unknown');
    }
    const states = prepared.map(({ write, json }, i) => ({ write, isPut: json !== undefined, snapshot: snapshots[i]! }));
    const puts = states.filter(({ isPut }) => isPut);
    const marked = puts.filter(({ snapshot }) => snapshot.get(COMMIT_FIELD) === commitId);
    if (puts.length > 0 && marked.length === puts.length) {
      return Object.fromEntries(marked.map(({ write, snapshot }) => [write.key, versionOf(write.key, snapshot.updateTime!)]));
    }
    if (marked.length > 0) throw unavailable('unknown'); // applied, but some of its versions are already gone
    if (failure === 'conflict') {
      // With no put to carry our mark, a document gone since may be our own applied delete: no proof.
      const broken = states.find(({ write, snapshot }) =>
        !holdsFor(write, snapshot) && (puts.length > 0 || !isDelete(write) || snapshot.exists));
      if (broken) throw new ConflictError(broken.write.key);
      throw unavailable('unknown');
    }
    // A document still at the exact version the commit expected was never written by it.
    const untouched = states.some(({ write, snapshot }) => !isCheck(write) && isVersion(write.expect) && holdsFor(write, snapshot));
    throw unavailable(failure === 'rejected' && untouched ? 'not-applied' : 'unknown');
  }
}

const isVersion = (expect: string) => expect !== 'any' && expect !== 'absent';

/** The write's expectation against a document as read back. */
const holdsFor = (write: Write, snapshot: DocumentSnapshot): boolean =>
  expectationHolds(write.expect, snapshot.exists ? versionOf(write.key, snapshot.updateTime!) : undefined);

function itemOf<T>(snapshot: DocumentSnapshot): Item<T> {
  const key = keyOf(snapshot.id);
  const json: unknown = snapshot.get(VALUE_FIELD);
  if (key === undefined || typeof json !== 'string') {
    throw new Error(`firestore document ${snapshot.ref.path} is not a registrar record`);
  }
  return { key, value: JSON.parse(json) as T, version: versionOf(key, snapshot.updateTime!) };
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
