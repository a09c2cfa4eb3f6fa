// The embedded LevelDB store (the seed's local store): one process, one data folder, every
// commit one synced atomic batch. LevelDB itself takes a LOCK file, so a second process gets a
// clear error instead of sharing the folder; within the process, commits are serialized so that
// reading the expectations and writing the batch cannot interleave.
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { decodeCursor, encodeCursor, isAfterKey } from '../shared/cursor.ts';
import { newVersion } from '../shared/version.ts';
import { resolvePatches } from '../shared/patch.ts';
import {
  ConflictError, StoreUnavailableError, expectationHolds, isCheck, isDelete, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type PreparedWrite, type Store, type Version, type Write,
} from '../../src/store.ts';

type Db = ClassicLevel<string, string>;

export interface LevelDbStoreOptions {
  /** The data folder; created if missing. */
  location: string;
  /** An already opened database on that folder (tests use it to inject faults). */
  db?: Db;
}

/** Each value is kept as "<version> <json>": versions are UUIDs, so the first space ends them. */
const encode = (version: Version, json: string) => `${version} ${json}`;
function decode<T>(key: string, raw: string): Item<T> {
  const space = raw.indexOf(' ');
  return { key, version: raw.slice(0, space), value: JSON.parse(raw.slice(space + 1)) as T };
}

export async function openLevelDb(location: string): Promise<Db> {
  await mkdir(location, { recursive: true, mode: 0o700 }); // agents' secret hashes and, beside them, tokens
  const db: Db = new ClassicLevel(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  try {
    await db.open();
  } catch (err) {
    const locked = (err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED';
    throw new StoreUnavailableError(
      locked
        ? `the LevelDB store at ${location} is in use by another process (one master per data folder)`
        : `cannot open the LevelDB store at ${location}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return db;
}

export async function createLevelDbStore(opts: LevelDbStoreOptions): Promise<Store> {
  const db = opts.db ?? (await openLevelDb(opts.location));
  /** Set by a failed write: LevelDB may still show it after a reopen, so this handle is not trusted. */
  let failed: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <R>(fn: () => Promise<R>): Promise<R> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  // Reads are synchronous: records are small and the folder is local (mostly LevelDB's block cache
  // or the page cache), so a read costs less than the thread-pool round trip of an asynchronous get,
  // which was the largest part of a heartbeat's CPU over HTTP (issue 13).
  const read = (key: string): string | undefined => {
    try {
      return db.getSync(key);
    } catch (err) {
      throw new StoreUnavailableError(`LevelDB read failed: ${(err as Error).message}`, { cause: err });
    }
  };

  async function apply(prepared: PreparedWrite[]): Promise<Record<string, Version>> {
    const current = new Map<string, Version | undefined>();
    for (const { write } of prepared) {
      const raw = read(write.key);
      const version = raw === undefined ? undefined : raw.slice(0, raw.indexOf(' '));
      current.set(write.key, version);
      if (!expectationHolds(write.expect, version)) throw new ConflictError(write.key);
    }
    const versions: Record<string, Version> = {};
    const ops: ({ type: 'put'; key: string; value: string } | { type: 'del'; key: string })[] = [];
    for (const { write, json } of prepared) {
      if (isCheck(write)) continue;
      if (isDelete(write)) {
        ops.push({ type: 'del', key: write.key });
        continue;
      }
      versions[write.key] = newVersion();
      ops.push({ type: 'put', key: write.key, value: encode(versions[write.key]!, json!) });
    }
    if (ops.length === 0) return versions;
    try {
      await db.batch(ops, { sync: true });
    } catch (err) {
      // We hold the only handle and the commit lock, so any write the folder shows proves the batch.
      if (wasApplied(prepared, versions, current)) return versions;
      // LevelDB documents that a failed synced write may still appear after a reopen: unknown.
      failed = `LevelDB write failed (${(err as Error).message}); restart the master to reopen the store`;
      throw new StoreUnavailableError(failed, { outcome: 'unknown', cause: err });
    }
    return versions;
  }

  /** A read whose failure shows nothing: what proving a write needs. */
  const readOrNothing = (key: string): string | undefined => {
    try {
      return read(key);
    } catch {
      return undefined;
    }
  };

  function wasApplied(prepared: PreparedWrite[], versions: Record<string, Version>, before: Map<string, Version | undefined>) {
    for (const { write } of prepared) {
      if (isCheck(write)) continue;
      const raw = readOrNothing(write.key);
      const shows = isDelete(write) ? before.get(write.key) !== undefined && raw === undefined : raw?.startsWith(`${versions[write.key]} `) === true;
      if (shows) return true;
    }
    return false;
  }

  const store: Store = {
    problem: () => failed,

    async get<T>(key: string) {
      const raw = read(key);
      return raw === undefined ? undefined : decode<T>(key, raw);
    },

    async list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>> {
      const limit = pageLimit(opts);
      const after = opts?.cursor === undefined ? undefined : decodeCursor(opts.cursor, isAfterKey).after;
      const range = after === undefined ? { gte: prefix } : { gt: after };
      const items: Item<T>[] = [];
      let more = false;
      try {
        for await (const [key, raw] of db.iterator({ ...range, limit: limit + 1 })) {
          if (!key.startsWith(prefix)) break;
          if (items.length === limit) {
            more = true;
            break;
          }
          items.push(decode<T>(key, raw));
        }
      } catch (err) {
        throw new StoreUnavailableError(`LevelDB read failed: ${(err as Error).message}`, { cause: err });
      }
      const last = items.at(-1);
      return more && last ? { items, cursor: encodeCursor({ after: last.key }) } : { items };
    },

    async commit(writes: Write[]) {
      const prepared = prepareCommit(await resolvePatches(writes, (key) => store.get(key)));
      return serialized(() => apply(prepared));
    },

    async close() {
      await serialized(() => db.close());
    },
  };
  return store;
}
