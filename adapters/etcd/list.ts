// A page of records under a prefix: one range read in key order, resumed after the last key a
// page returned. etcd sorts keys by their bytes, so the order is stable while the store is unchanged.
import { decodeCursor, encodeCursor, isAfterKey } from '../shared/cursor.ts';
import type { Item, Page } from '../../src/store.ts';
import { type Kv, read } from './calls.ts';
import { type Layout, keyOf, rangeEnd, recordKey, recordOf, versionOf } from './layout.ts';

export async function listPage<T>(kv: Kv, layout: Layout, prefix: string, limit: number, cursor: string | undefined, timeoutMs: number): Promise<Page<T>> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor, isAfterKey).after;
  const first = recordKey(layout, prefix);
  // Just after the cursor's key (a zero byte sorts first), but never before the prefix.
  const resume = after === undefined ? first : Buffer.concat([recordKey(layout, after), Buffer.from([0])]);
  const start = Buffer.compare(resume, first) > 0 ? resume : first;
  const end = prefix === '' ? rangeEnd(layout.records) : rangeEnd(first);
  if (Buffer.compare(start, end) >= 0) return { items: [] };
  const answer = await read('list', timeoutMs, (deadline) => kv.range({ key: start, range_end: end, limit }, { deadline }));
  const items = answer.kvs.map((kv): Item<T> => {
    const key = keyOf(layout, kv.key);
    return { key, value: recordOf<T>(kv.value), version: versionOf(key, kv.mod_revision) };
  });
  const last = items.at(-1);
  return answer.more && last ? { items, cursor: encodeCursor({ after: last.key }) } : { items };
}
