// Paging through records: bucket by bucket, and within a bucket in child-name order. ZooKeeper
// cannot page children, so each page lists whole buckets and keeps its place as (bucket, last name).
import type { Client } from 'node-zookeeper-client';
import type { Item, Page } from '../../src/store.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { BUCKETS, bucketPath, jsonOf, keyOfName, versionOf } from './layout.ts';
import { getChildrenMany, getDataMany, sync, together } from './protocol.ts';

interface Position {
  /** The bucket to resume in. */
  b: number;
  /** The last child name returned from it. */
  after?: string;
}

const isPosition = (p: unknown): p is Position => {
  const { b, after } = (p ?? {}) as Partial<Position>;
  return Number.isInteger(b) && b! >= 0 && b! < BUCKETS && (after === undefined || typeof after === 'string');
};

/** Buckets listed at once when the page is not full yet; grows from one to keep sparse scans quick. */
const MAX_WINDOW = 16;
/** Znodes read per request: a bound on the reply's size (values are up to 64 KiB). */
const READ_BATCH = 100;

const chunks = <T>(all: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(all.length / size) }, (_, i) => all.slice(i * size, (i + 1) * size));

export async function listPage<T>(client: Client, root: string, prefix: string, limit: number, cursor: string | undefined, timeoutMs: number): Promise<Page<T>> {
  const start: Position = cursor === undefined ? { b: 0 } : decodeCursor(cursor, isPosition);
  const picked: { path: string; key: string }[] = [];
  let resume: Position | undefined;
  let syncing: Promise<unknown> | undefined = sync(client, root, timeoutMs); // reads queued after it are current
  let window = 1;

  scan: for (let first = start.b; first < BUCKETS; first += window, window = Math.min(window * 2, MAX_WINDOW)) {
    const buckets = Array.from({ length: Math.min(window, BUCKETS - first) }, (_, i) => first + i);
    const [, children] = await Promise.all([syncing, getChildrenMany(client, buckets.map((b) => bucketPath(root, b)), timeoutMs)]);
    syncing = undefined;
    for (const [i, names] of children.entries()) {
      const b = buckets[i]!;
      const after = b === start.b ? start.after : undefined;
      for (const name of (names ?? []).sort()) {
        if (after !== undefined && name <= after) continue;
        const key = keyOfName(name);
        if (key === undefined || !key.startsWith(prefix)) continue;
        picked.push({ path: `${bucketPath(root, b)}/${name}`, key });
        if (picked.length === limit) {
          resume = { b, after: name };
          break scan;
        }
      }
    }
  }

  const reads = together(client, () => chunks(picked, READ_BATCH).map((some) => getDataMany(client, some.map((p) => p.path), timeoutMs)));
  const nodes = (await Promise.all(reads)).flat();
  const items: Item<T>[] = [];
  for (const [i, node] of nodes.entries()) {
    // Gone since the listing: deleted between the two reads, so it is not returned.
    if (node) items.push({ key: picked[i]!.key, value: JSON.parse(jsonOf(node.data)) as T, version: versionOf(picked[i]!.key, node.stat.mzxid) });
  }
  return resume ? { items, cursor: encodeCursor(resume) } : { items };
}
