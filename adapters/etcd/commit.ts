// A commit as one etcd txn.
//
// Every expectation becomes a compare: a version is `mod_revision == v`, 'absent' is
// `create_revision == 0` (etcd's "no such key"); 'any' compares nothing. If the compares hold, the
// puts and deletes apply at one new revision, which is then every put key's version. If one fails,
// the failure branch reads the compared keys in the same atomic step, so the adapter names the key
// whose expectation was false without a second round trip and without a race.
//
// Unknown outcome: a txn whose answer is lost (deadline, connection broken, leader lost while the
// proposal was in flight) may still be applied. Every put carries the commit's fresh marker (a
// delete-only commit puts a marker key instead), and the adapter reads it back: found, the commit
// applied (its versions are the marked key's mod_revision); not found proves nothing (the proposal
// may still commit later), so that is StoreUnavailableError with outcome 'unknown'. A txn that
// certainly never left (no connection to any member) is sent again until the deadline.
import { ClientClosedError, type ICompare, type IRequestOp, type ITxnResponse } from 'etcd3';
import {
  ConflictError, StoreUnavailableError, expectationHolds, isDelete, isPut,
  type PreparedWrite, type Version,
} from '../../src/store.ts';
import { type Kv, read, unavailable, unsent, withRetries } from './calls.ts';
import { type Layout, markerKey, markerOf, newMarker, recordKey, recordValue, revisionOf, versionOf } from './layout.ts';

interface Txn {
  compare: ICompare[];
  success: IRequestOp[];
  failure: IRequestOp[];
  /** The writes whose expectations are compared, in the order of `failure`'s reads. */
  compared: PreparedWrite[];
  puts: string[];
  /** The keys that carry the marker once the txn applied. */
  marked: Buffer[];
  markerKey?: Buffer;
}

export async function commitWrites(kv: Kv, layout: Layout, prepared: PreparedWrite[], timeoutMs: number): Promise<Record<string, Version>> {
  const marker = newMarker();
  const txn = planTxn(layout, prepared, marker);
  let response: ITxnResponse;
  try {
    const resend = (error: unknown) => unsent(error) && !(error instanceof ClientClosedError);
    response = await withRetries(timeoutMs, (deadline) => kv.txn({ compare: txn.compare, success: txn.success, failure: txn.failure }, { deadline }), resend);
  } catch (error) {
    return resolveLostAnswer(kv, txn, marker, error, timeoutMs);
  }
  if (!response.succeeded) throw conflictOf(txn, response);
  if (txn.markerKey) await removeMarker(kv, txn.markerKey, timeoutMs);
  return versionsOf(txn.puts, response.header.revision);
}

function planTxn(layout: Layout, prepared: PreparedWrite[], marker: string): Txn {
  const txn: Txn = { compare: [], success: [], failure: [], compared: [], puts: [], marked: [] };
  for (const p of prepared) {
    const { write, json } = p;
    const key = recordKey(layout, write.key);
    if (write.expect === 'absent') {
      txn.compare.push({ key, target: 'Create', result: 'Equal', create_revision: 0 });
    } else if (write.expect !== 'any') {
      const revision = revisionOf(write.key, write.expect);
      // No write of this adapter made that version, so the key never had it.
      if (revision === undefined) throw new ConflictError(write.key);
      txn.compare.push({ key, target: 'Mod', result: 'Equal', mod_revision: revision });
    }
    if (write.expect !== 'any') {
      txn.compared.push(p);
      txn.failure.push({ request_range: { key, keys_only: true } });
    }
    if (isPut(write)) {
      txn.success.push({ request_put: { key, value: recordValue(marker, json!) } });
      txn.puts.push(write.key);
      txn.marked.push(key);
    } else if (isDelete(write)) {
      txn.success.push({ request_delete_range: { key } });
    }
  }
  if (txn.marked.length === 0 && prepared.some((p) => isDelete(p.write))) {
    txn.markerKey = markerKey(layout, marker);
    txn.success.push({ request_put: { key: txn.markerKey, value: Buffer.from(marker) } });
    txn.marked.push(txn.markerKey);
  }
  return txn;
}

/** The first write whose expectation the keys' state, read in the failed txn, refutes. */
function conflictOf(txn: Txn, response: ITxnResponse): Error {
  for (const [i, { write }] of txn.compared.entries()) {
    const kv = response.responses[i]?.response_range?.kvs?.[0];
    if (!expectationHolds(write.expect, kv ? versionOf(write.key, kv.mod_revision) : undefined)) return new ConflictError(write.key);
  }
  // Compares and reads run at the same revision, so this cannot happen; refuse to guess.
  return new StoreUnavailableError('etcd refused a commit, but no expectation was false', { outcome: 'not-applied' });
}

async function resolveLostAnswer(kv: Kv, txn: Txn, marker: string, error: unknown, timeoutMs: number): Promise<Record<string, Version>> {
  // Never sent, or a commit of checks only (it writes nothing): nothing was applied.
  if (unsent(error) || txn.marked.length === 0) throw unavailable('commit', error, 'not-applied');
  let found: string | undefined;
  try {
    const answer = await read('read-back', timeoutMs / 2, (deadline) =>
      kv.txn({ success: txn.marked.map((key) => ({ request_range: { key } })) }, { deadline }),
    );
    for (const r of answer.responses) {
      const stored = r.response_range?.kvs?.[0];
      if (stored && (stored.key.equals(txn.markerKey ?? Buffer.alloc(0)) ? stored.value.toString() === marker : markerOf(stored.value) === marker)) {
        found = stored.mod_revision;
        break;
      }
    }
  } catch {
    // The read-back failed too: still unknown.
  }
  if (found === undefined) throw unavailable('commit', error, 'unknown');
  if (txn.markerKey) await removeMarker(kv, txn.markerKey, timeoutMs);
  return versionsOf(txn.puts, found);
}

/** Best effort: a marker left behind is a few bytes no read ever lists. */
async function removeMarker(kv: Kv, key: Buffer, timeoutMs: number): Promise<void> {
  await kv.txn({ success: [{ request_delete_range: { key } }] }, { deadline: new Date(Date.now() + timeoutMs) }).catch(() => undefined);
}

const versionsOf = (keys: string[], revision: string): Record<string, Version> => Object.fromEntries(keys.map((key) => [key, versionOf(key, revision)]));
