// Patches for backends that store a value whole (LevelDB, ZooKeeper, etcd, SQLite, Firestore's JSON
// field): read the item, merge the fields, and put the result expecting the same version. The put's
// expectation keeps it exact: a write landing between the read and the commit makes it conflict.
import { ConflictError, isPatch, patched, prepareCommit, type Item, type Write } from '../../src/store.ts';

/**
 * The commit with every patch turned into a put of the merged value at the version it expects;
 * unchanged (and nothing read) when it has no patch. A patch of a missing key or of another version
 * conflicts, as a put at that version would. The commit is validated before anything is read.
 */
export async function resolvePatches(writes: Write[], get: (key: string) => Promise<Item<unknown> | undefined>): Promise<Write[]> {
  if (!Array.isArray(writes) || !writes.some(isPatch)) return writes;
  prepareCommit(writes);
  return Promise.all(
    writes.map(async (write) => {
      if (!isPatch(write)) return write;
      const current = await get(write.key);
      if (current?.version !== write.expect) throw new ConflictError(write.key);
      return { key: write.key, expect: write.expect, put: patched(write.key, current.value, write.patch) };
    }),
  );
}
