// A commit as one ZooKeeper multi.
//
// Each attempt reads the stat of every key (after a sync, so the read is current), then sends a
// multi whose operations carry the exact znode versions it read. ZooKeeper checks them all and
// applies all or nothing.
//
// Versions: a record's version is its znode's mzxid (layout.ts). An expectation is compared with the
// version read, and the multi then checks the znode's data version as read. That check alone could
// be fooled by a delete and re-create between the read and the multi (the new znode counts versions
// from 0 again), so every delete also writes its bucket znode, and a multi with a versioned
// expectation checks the version of the key's bucket as read: any delete in between makes it fail,
// and the commit retries.
//
// Failures: BADVERSION / NONODE from an operation derived from a version, or NODEEXISTS from an
// 'absent' create, prove the expectation false: ConflictError naming that key. Any other rejection
// ('any' writes meeting a concurrent change, a bucket moved by a delete) retries from a fresh read.
//
// Unknown outcome: when the multi's answer is lost (connection loss, expiry, timeout), its outcome
// is read back: every znode the multi writes carries this commit's fresh marker. A marker found
// proves the commit applied (its versions are that znode's mzxid). No marker found proves nothing
// (the request may still be on its way), so that is StoreUnavailableError with outcome 'unknown',
// unless the request certainly never left this process ('not-applied').
import { Exception, type Client } from 'node-zookeeper-client';
import {
  ConflictError, StoreUnavailableError, isCheck, isDelete, isPut,
  type PreparedWrite, type Version,
} from '../../src/store.ts';
import { bucketPath, bucketOf, markerOf, newMarker, recordData, recordPath, versionOf } from './layout.ts';
import {
  ZooKeeperError, codeName, exists, getDataMany, isTransient, multi, sync, together, unavailable,
  type MultiOutcome, type Op, type Stat,
} from './protocol.ts';
import type { Session } from './session.ts';

const ATTEMPTS = 10;

interface Target extends PreparedWrite {
  path: string;
  bucket: string;
}

/** Who answers for an operation of the multi when ZooKeeper rejects it. */
type Blame = { key: string; conflictOn: number[] } | { retry: true };

interface Plan {
  ops: Op[];
  blame: Blame[];
  /** Znodes that carry the marker once the multi applied. */
  marked: string[];
  puts: string[];
}

const VERSION_FAILURES = [Exception.BAD_VERSION, Exception.NO_NODE];
const EXISTS_FAILURE = [Exception.NODE_EXISTS];
const EXPECTED_FAILURES = new Set<number>([...VERSION_FAILURES, ...EXISTS_FAILURE]);

export async function commitWrites(session: Session, root: string, prepared: PreparedWrite[], timeoutMs: number): Promise<Record<string, Version>> {
  const targets = prepared.map((p): Target => ({ ...p, path: recordPath(root, p.write.key), bucket: bucketPath(root, bucketOf(p.write.key)) }));
  const marker = newMarker();
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const client = session.client();
    const plan = planMulti(targets, await readState(client, root, targets, timeoutMs), marker);
    let outcome: MultiOutcome;
    try {
      outcome = await multi(client, plan.ops, session.acls, timeoutMs);
    } catch (error) {
      if (!(error instanceof ZooKeeperError)) throw error;
      return resolveLostAnswer(session, root, plan, marker, error, timeoutMs);
    }
    if (!outcome.failure) return versionsOf(plan.puts, outcome.zxid);
    const { index, code } = outcome.failure;
    const blame = plan.blame[index]!;
    if (!EXPECTED_FAILURES.has(code)) {
      throw new StoreUnavailableError(`ZooKeeper refused a commit: ${codeName(code)}`, { outcome: 'not-applied' });
    }
    if ('key' in blame) {
      if (blame.conflictOn.includes(code)) throw new ConflictError(blame.key);
      throw new StoreUnavailableError(`ZooKeeper refused a commit on ${JSON.stringify(blame.key)}: ${codeName(code)}`, { outcome: 'not-applied' });
    }
    // Raced by another commit on an 'any' write or a bucket: a little jitter, then read again.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
  }
  throw new StoreUnavailableError(`commit still contended after ${ATTEMPTS} attempts`, { outcome: 'not-applied' });
}

interface State {
  records: (Stat | undefined)[];
  buckets: Map<string, Stat | undefined>;
}

/**
 * Current stats of the keys, and of the buckets that versioned expectations guard. Buckets are read
 * first (a session's requests run in order): a delete and re-create after a key was read then
 * always shows in its bucket's version.
 */
async function readState(client: Client, root: string, targets: Target[], timeoutMs: number): Promise<State> {
  const guarded = [...new Set(targets.filter((t) => isVersion(t.write.expect)).map((t) => t.bucket))];
  try {
    const [, buckets, records] = await Promise.all(
      together(client, () => [
        sync(client, root, timeoutMs),
        Promise.all(guarded.map((path) => exists(client, path, timeoutMs))),
        Promise.all(targets.map((t) => exists(client, t.path, timeoutMs))),
      ] as const),
    );
    return { records, buckets: new Map(guarded.map((path, i) => [path, buckets[i]])) };
  } catch (error) {
    throw unavailable(error);
  }
}

const isVersion = (expect: string): boolean => expect !== 'any' && expect !== 'absent';

/** Turns writes into operations; throws ConflictError when the state read already refutes one. */
function planMulti(targets: Target[], state: State, marker: Buffer): Plan {
  const plan: Plan = { ops: [], blame: [], marked: [], puts: [] };
  const add = (op: Op, blame: Blame) => {
    plan.ops.push(op);
    plan.blame.push(blame);
  };
  const guarded = new Set<string>();
  const bumped = new Set<string>();
  const retry: Blame = { retry: true };

  for (const [i, { write, json, path, bucket }] of targets.entries()) {
    const { key, expect } = write;
    const stat = state.records[i];
    const onVersion: Blame = { key, conflictOn: VERSION_FAILURES };
    const onExists: Blame = { key, conflictOn: EXISTS_FAILURE };
    if (isVersion(expect)) {
      if (!stat || versionOf(key, stat.mzxid) !== expect) throw new ConflictError(key);
      guarded.add(bucket);
    }
    if (expect === 'absent' && stat) throw new ConflictError(key);

    if (isPut(write)) {
      const data = recordData(marker, json!);
      if (expect === 'absent') add({ op: 'create', path, data }, onExists);
      else if (expect === 'any') add(stat ? { op: 'setData', path, data, version: -1 } : { op: 'create', path, data }, retry);
      else add({ op: 'setData', path, data, version: stat!.version }, onVersion);
      plan.marked.push(path);
      plan.puts.push(key);
    } else if (isDelete(write)) {
      if (expect !== 'any') add({ op: 'remove', path, version: stat!.version }, onVersion);
      else if (stat) add({ op: 'remove', path, version: -1 }, retry);
      else assertAbsent(add, path, retry); // so the commit still holds only while the key is absent
      if (expect !== 'any' || stat) bumped.add(bucket);
    } else if (isCheck(write)) {
      if (expect === 'absent') assertAbsent(add, path, onExists);
      else add({ op: 'check', path, version: stat!.version }, onVersion);
    }
  }

  // Bucket operations come last, so a real conflict on a key is the failure ZooKeeper reports.
  for (const bucket of new Set([...guarded, ...bumped])) {
    const version = guarded.has(bucket) ? state.buckets.get(bucket)?.version : -1;
    if (version === undefined) throw new StoreUnavailableError(`ZooKeeper bucket ${bucket} is missing`);
    if (bumped.has(bucket)) {
      add({ op: 'setData', path: bucket, data: marker, version }, retry);
      plan.marked.push(bucket);
    } else {
      add({ op: 'check', path: bucket, version }, retry);
    }
  }
  return plan;
}

/** ZooKeeper has no "check absent": create and remove the znode in the same multi. */
function assertAbsent(add: (op: Op, blame: Blame) => void, path: string, blame: Blame): void {
  add({ op: 'create', path, data: null }, blame);
  add({ op: 'remove', path, version: -1 }, blame);
}

async function resolveLostAnswer(session: Session, root: string, plan: Plan, marker: Buffer, error: ZooKeeperError, timeoutMs: number): Promise<Record<string, Version>> {
  const cause = `${codeName(error.code)} during a commit`;
  // Unsent, answered with an error, or writing nothing visible (checks only): nothing to find out.
  if (!error.sent || !isTransient(error.code) || plan.marked.length === 0) throw new StoreUnavailableError(cause, { outcome: 'not-applied', cause: error });
  let found: Stat | undefined;
  try {
    const client = session.client();
    const [, nodes] = await Promise.all(together(client, () => [sync(client, root, timeoutMs), getDataMany(client, plan.marked, timeoutMs)] as const));
    found = nodes.find((node) => node !== undefined && markerOf(node.data).equals(marker))?.stat;
  } catch {
    // The read-back failed too: still unknown.
  }
  if (found) return versionsOf(plan.puts, found.mzxid);
  throw new StoreUnavailableError(`${cause}; it may or may not have been applied`, { outcome: 'unknown', cause: error });
}

/** Every key a multi put has the multi's zxid as its mzxid. */
const versionsOf = (keys: string[], zxid: Buffer | bigint): Record<string, Version> =>
  Object.fromEntries(keys.map((key) => [key, versionOf(key, zxid)]));
