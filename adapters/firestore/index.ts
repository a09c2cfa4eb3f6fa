// The Firestore store: one collection, one document per key. Every commit is one batched write
// whose preconditions carry the expectations, so it is atomic and decided by Firestore itself.
//
// Indexes: records are opaque JSON strings that are never queried (list orders by document id, which
// needs no index of ours), so firestore.indexes.json at the repository root exempts the `value` field
// (and the short `commit` marker) from Firestore's automatic single-field indexes: indexing them costs
// an index write per field per commit and fails on values beyond an index entry's 1,500 bytes. Set
// its `collectionGroup` to the collection of REGISTRAR_STORE=firestore:<collection> and deploy it,
// either with the Firebase CLI (firebase.json: { "firestore": { "indexes": "firestore.indexes.json" } }):
//   firebase deploy --only firestore:indexes --project <project>
// or with gcloud, one exemption per field:
//   gcloud firestore indexes fields update value --collection-group=<collection> --disable-indexes --project=<project>
//   gcloud firestore indexes fields update commit --collection-group=<collection> --disable-indexes --project=<project>
//
// Deadlines: every call (get, one list page, commit) ends within `deadlineMs` (calls.ts says how):
// a read then fails with StoreUnavailableError ('not-applied'), a commit with 'unknown' unless the
// read-back of its marker settles it.
import { randomUUID } from 'node:crypto';
import {
  FieldPath, FieldValue,
  type DocumentSnapshot, type Firestore, type WriteBatch, type WriteResult,
} from '@google-cloud/firestore';
import { decodeCursor, encodeCursor, isAfterKey } from '../shared/cursor.ts';
import { resolvePatches } from '../shared/patch.ts';
import { type Call, hookCalls, operations } from './calls.ts';
import { COMMIT_FIELD, UNWRITTEN_FIELD, VALUE_FIELD, documentId, keyOf, recordDocument, updateTimeOf, versionOf } from './document.ts';
import { classifyFirestoreError } from './errors.ts';
import {
  ConflictError, StoreLimitError, StoreUnavailableError, assertKey, expectationHolds, isCheck, isDelete, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type PreparedWrite, type Store, type Version, type Write,
} from '../../src/store.ts';

export { loadRecords } from './bulk-load.ts';

/** How long one store call may take by default: well under any HTTP request timeout. */
export const DEFAULT_DEADLINE_MS = 2_500;

export interface FirestoreStoreOptions {
  /** The client; the store owns it from now on and terminates it on close. */
  firestore: Firestore;
  /** The collection (path) holding the records; nothing else should write there. */
  collection: string;
  /**
   * How long one call (a get, a list page, a commit with its read-back) may take before it fails
   * with StoreUnavailableError; default DEFAULT_DEADLINE_MS. A commit spends at most two thirds of
   * it sending, and the rest reading back what a failed send did.
   */
  deadlineMs?: number;
}

export function createFirestoreStore({ firestore, collection, deadlineMs = DEFAULT_DEADLINE_MS }: FirestoreStoreOptions): Store {
  if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) throw new Error(`firestore store: deadlineMs must be a positive number, not ${deadlineMs}`);
  const records = firestore.collection(collection);
  /** Whether Commit RPCs are counted (calls.ts); if not, no refusal is taken as authoritative. */
  const counted = hookCalls(firestore);
  const sdk = operations();
  let closed = false;

  /** Runs a read within the deadline, turning transient failures into StoreUnavailableError. */
  const read = async <R>(op: () => Promise<R>): Promise<R> => {
    if (closed) throw new StoreUnavailableError('firestore store is closed');
    try {
      return await sdk.run({ deadline: Date.now() + deadlineMs, commits: 0 }, op);
    } catch (err) {
      if (classifyFirestoreError(err) === 'fatal') throw err;
      throw new StoreUnavailableError(`firestore read failed: ${messageOf(err)}`, { cause: err });
    }
  };

  const store: Store = {
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
      const prepared = prepareCommit(await resolvePatches(writes, (key) => store.get(key)));
      if (closed) throw new StoreUnavailableError('firestore store is closed');
      const started = Date.now();
      // Marks every document this commit puts, so that a commit whose answer was lost can be recognized.
      const commitId = randomUUID();
      const sending: Call = { deadline: started + (deadlineMs * 2) / 3, commits: 0 };
      // Whether an attempt may have applied without our knowing (its answer lost, or resent unseen).
      let uncertain = !counted;
      for (let attempt = 1; ; attempt++) {
        const batch = firestore.batch();
        for (const write of prepared) addWrite(batch, write, commitId); // may throw ConflictError before any I/O
        const sentBefore = sending.commits;
        let results: WriteResult[];
        try {
          results = await sdk.run(sending, () => batch.commit());
        } catch (err) {
          const failure = classifyFirestoreError(err, { preconditioned: prepared.some(({ write }) => write.expect !== 'any') });
          if (failure === 'fatal') throw err;
          const sent = sending.commits - sentBefore;
          // A refusal is authoritative only as the answer to the one RPC this attempt sent.
          if (failure === 'unanswered' || sent !== 1) uncertain = true;
          // Refused unapplied, as every attempt before: sending it again is safe, while time remains.
          const pause = Math.min(1_000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2);
          if (failure === 'rejected' && !uncertain && Date.now() + pause < sending.deadline) {
            await new Promise((resolve) => setTimeout(resolve, pause));
            continue;
          }
          return resolveFailedCommit(prepared, commitId, err, { uncertain, deadline: started + deadlineMs });
        }
        const versions: Record<string, Version> = {};
        for (const [i, { write, json }] of prepared.entries()) {
          if (json !== undefined) versions[write.key] = versionOf(write.key, results[i]!.writeTime);
        }
        return versions;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      // Calls given up at their deadline end soon after it (calls.ts); terminating before they do
      // would make the SDK start their next attempt on a terminated client.
      await sdk.ended(deadlineMs + 5_000);
      await firestore.terminate();
    },
  };
  return store;

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
   * Decides what a failed commit means. Unless `uncertain`, every Commit RPC it sent was answered
   * and none applied, the last with `err`: a refusal is then the truth, and the read-back only names
   * the key whose expectation broke. Otherwise an attempt may have applied unseen (its answer lost,
   * or resent by the SDK itself), so even a conflict may be the echo of our own applied commit:
   * - our commit id still on every document it puts proves it applied;
   * - a put or delete whose document still has exactly the update time it expected proves it never
   *   applied (an applied write changes the update time, and update times are never reused); an
   *   absent document proves nothing, since a record created by us may have been deleted since;
   * - nothing else can be told apart from our own applied commit followed by other writers: unknown.
   */
  async function resolveFailedCommit(
    prepared: PreparedWrite[], commitId: string, err: unknown, { uncertain, deadline }: { uncertain: boolean; deadline: number },
  ): Promise<Record<string, Version>> {
    const failure = classifyFirestoreError(err, { preconditioned: prepared.some(({ write }) => write.expect !== 'any') });
    const unavailable = (outcome: 'not-applied' | 'unknown') =>
      new StoreUnavailableError(`firestore commit failed: ${messageOf(err)}`, { outcome, cause: err });
    if (!uncertain && failure === 'rejected') throw unavailable('not-applied');
    let snapshots: DocumentSnapshot[];
    try {
      const refs = prepared.map(({ write }) => records.doc(documentId(write.key)));
      snapshots = await sdk.run({ deadline, commits: 0 }, () => firestore.getAll(...refs, { fieldMask: [COMMIT_FIELD] }));
    } catch {
      throw unavailable(uncertain ? 'unknown' : 'not-applied');
    }
    const states = prepared.map(({ write, json }, i) => ({ write, isPut: json !== undefined, snapshot: snapshots[i]! }));
    const broken = states.find(({ write, snapshot }) => !holdsFor(write, snapshot));
    if (!uncertain) {
      // Refused as a whole (failure is 'conflict'): nothing applied.
      if (broken) throw new ConflictError(broken.write.key);
      throw unavailable('not-applied'); // the state that refused it is gone already
    }
    const puts = states.filter(({ isPut }) => isPut);
    const marked = puts.filter(({ snapshot }) => snapshot.get(COMMIT_FIELD) === commitId);
    if (puts.length > 0 && marked.length === puts.length) {
      return Object.fromEntries(marked.map(({ write, snapshot }) => [write.key, versionOf(write.key, snapshot.updateTime!)]));
    }
    if (marked.length > 0) throw unavailable('unknown'); // applied, but some of its versions are already gone
    // Only the last answer can be trusted to have ended every attempt: an unanswered one may still land.
    const neverApplied = failure !== 'unanswered' &&
      states.some(({ write, snapshot }) => !isCheck(write) && isVersion(write.expect) && snapshot.exists && holdsFor(write, snapshot));
    if (!neverApplied) throw unavailable('unknown');
    if (failure === 'conflict' && broken) throw new ConflictError(broken.write.key);
    throw unavailable('not-applied');
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
