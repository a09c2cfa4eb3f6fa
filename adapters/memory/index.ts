// The in-memory store: for tests and for a throwaway master. Values are kept as JSON so that
// callers never share objects with the store.
import { encodeCursor, decodeCursor, isAfterKey } from '../shared/cursor.ts';
import { newVersion } from '../shared/version.ts';
import { resolvePatches } from '../shared/patch.ts';
import {
  ConflictError, StoreUnavailableError, expectationHolds, isCheck, isDelete, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type Store, type Version, type Write,
} from '../../src/store.ts';

interface Entry { json: string; version: Version }

export function createMemoryStore(): Store {
  const entries = new Map<string, Entry>();
  let sorted: string[] | undefined; // key order, rebuilt lazily after a key is added or removed
  let closed = false;
  const open = () => {
    if (closed) throw new StoreUnavailableError('memory store is closed');
  };

  const store: Store = {
    async get<T>(key: string): Promise<Item<T> | undefined> {
      await Promise.resolve();
      open();
      const entry = entries.get(key);
      return entry && { key, value: JSON.parse(entry.json) as T, version: entry.version };
    },

    async list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>> {
      await Promise.resolve();
      open();
      const limit = pageLimit(opts);
      const after = opts?.cursor === undefined ? undefined : decodeCursor(opts.cursor, isAfterKey).after;
      sorted ??= [...entries.keys()].sort();
      const from = firstAbove(sorted, after ?? prefix, after === undefined);
      const keys: string[] = [];
      for (let i = from; i < sorted.length && keys.length <= limit && sorted[i]!.startsWith(prefix); i++) keys.push(sorted[i]!);
      const items = keys.slice(0, limit).map((key) => {
        const entry = entries.get(key)!;
        return { key, value: JSON.parse(entry.json) as T, version: entry.version };
      });
      const last = items.at(-1);
      return keys.length > limit && last ? { items, cursor: encodeCursor({ after: last.key }) } : { items };
    },

    async commit(writes: Write[]): Promise<Record<string, Version>> {
      const prepared = prepareCommit(await resolvePatches(writes, (key) => store.get(key)));
      await Promise.resolve();
      open();
      // Check every expectation first, then apply: nothing is visible unless all hold.
      for (const { write } of prepared) {
        if (!expectationHolds(write.expect, entries.get(write.key)?.version)) throw new ConflictError(write.key);
      }
      const versions: Record<string, Version> = {};
      for (const { write, json } of prepared) {
        if (isCheck(write)) continue;
        if (!entries.has(write.key) !== isDelete(write)) sorted = undefined;
        if (isDelete(write)) {
          entries.delete(write.key);
          continue;
        }
        const version = newVersion();
        entries.set(write.key, { json: json!, version });
        versions[write.key] = version;
      }
      return versions;
    },

    async close() {
      closed = true;
    },
  };
  return store;
}

/** Index of the first key > bound (or >= bound when inclusive) in a sorted array. */
function firstAbove(keys: string[], bound: string, inclusive: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < bound || (!inclusive && keys[mid] === bound)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
