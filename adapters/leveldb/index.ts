// The embedded LevelDB store (the seed's local store): one process, one data folder, every
// commit in a synced atomic batch. LevelDB itself takes a LOCK file, so a second process gets a
// clear error instead of sharing the folder; within the process, one batch is in flight at a time
// and the commits that arrive meanwhile share the next one, so that reading the expectations and
// writing the batch cannot interleave and concurrent commits share an fsync.
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { decodeCursor, encodeCursor, isAfterKey } from '../shared/cursor.ts';
import { newVersion } from '../shared/version.ts';
import { resolvePatches } from '../shared/patch.ts';
import { prefixEnd } from '../shared/prefix.ts';
import {
  ConflictError, StoreUnavailableError, expectationHolds, isCheck, isDelete, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type PreparedWrite, type Store, type Version, type Write,
} from '../../src/store.ts';

type Db = ClassicLevel<string, string>;
type BatchOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** A commit waiting for the batch it will go out in. */
interface Pending {
  prepared: PreparedWrite[];
  resolve(versions: Record<string, Version>): void;
  reject(err: unknown): void;
}

/** At most this many commits share one synced batch: commits are small, and even at the contract's 512 KiB each that is 32 MiB. */
const DEFAULT_MAX_GROUP = 64;

export interface LevelDbStoreOptions {
  /** The data folder; created if missing. */
  location: string;
  /** An already opened database on that folder (tests use it to inject faults). */
  db?: Db;
  /** At most this many commits share one synced batch; 1 gives each its own (the bench's baseline). */
  maxGroup?: number;
}

/** At most this many bytes of entries per native read of a listed page (records are ~1 KB). */
const LIST_READ_BYTES = 4 * 1024 * 1024;

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
  const maxGroup = opts.maxGroup ?? DEFAULT_MAX_GROUP;
  if (!Number.isInteger(maxGroup) || maxGroup < 1) throw new Error(`leveldb store: maxGroup must be a whole number of at least 1, not ${maxGroup}`);
  const db = opts.db ?? (await openLevelDb(opts.location));
  /** Set by a failed write: LevelDB may still show it after a reopen, so this handle is not trusted. */
  let failed: string | undefined;

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
  const versionOf = (raw: string | undefined): Version | undefined => (raw === undefined ? undefined : raw.slice(0, raw.indexOf(' ')));

  // Group commit: commits that arrive while a synced batch is in flight wait for it, then go out
  // together in the next one. Each is checked in arrival order against the folder and the commits
  // before it in its group, so a conflict refuses that commit alone; the group shares one fsync,
  // and each commit is answered only once its batch is durable.
  let waiting: Pending[] = [];
  let flushing: Promise<void> | undefined;

  const enqueue = (prepared: PreparedWrite[]) =>
    new Promise<Record<string, Version>>((resolve, reject) => {
      waiting.push({ prepared, resolve, reject });
      flushing ??= flush();
    });

  async function flush(): Promise<void> {
    try {
      while (waiting.length > 0) {
        const group = waiting.slice(0, maxGroup);
        waiting = waiting.slice(group.length);
        await writeGroup(group).catch((err: unknown) => {
          for (const pending of group) pending.reject(err); // a bug, not the folder: never leave a commit waiting
        });
      }
    } finally {
      flushing = undefined;
    }
  }

  async function writeGroup(group: Pending[]): Promise<void> {
    /** Each key's version as the accepted commits before this one leave it (undefined: absent). */
    const latest = new Map<string, Version | undefined>();
    /** Each key's version in the folder before the group, for proving a failed batch. */
    const before = new Map<string, Version | undefined>();
    const accepted: { pending: Pending; versions: Record<string, Version> }[] = [];
    const ops: BatchOp[] = [];
    // Refused after the batch lands, so that a commit that lost to another reads the winner when it tries again.
    const refused: { pending: Pending; err: unknown }[] = [];
    for (const pending of group) {
      try {
        for (const { write } of pending.prepared) {
          if (!latest.has(write.key)) {
            const version = versionOf(read(write.key));
            latest.set(write.key, version);
            before.set(write.key, version);
          }
          if (!expectationHolds(write.expect, latest.get(write.key))) throw new ConflictError(write.key);
        }
      } catch (err) {
        refused.push({ pending, err });
        continue;
      }
      const versions: Record<string, Version> = {};
      for (const { write, json } of pending.prepared) {
        if (isCheck(write)) continue;
        if (isDelete(write)) {
          ops.push({ type: 'del', key: write.key });
          latest.set(write.key, undefined);
          continue;
        }
        versions[write.key] = newVersion();
        ops.push({ type: 'put', key: write.key, value: encode(versions[write.key]!, json!) });
        latest.set(write.key, versions[write.key]);
      }
      accepted.push({ pending, versions });
    }
    const outcome = ops.length > 0 ? await writeBatch(ops, before) : undefined;
    for (const { pending, versions } of accepted) {
      if (outcome) pending.reject(outcome);
      else pending.resolve(versions);
    }
    for (const { pending, err } of refused) pending.reject(err);
  }

  /** Writes one synced batch; undefined when it is durable, else the error for each of its commits. */
  async function writeBatch(ops: BatchOp[], before: Map<string, Version | undefined>): Promise<StoreUnavailableError | undefined> {
    try {
      await db.batch(ops, { sync: true });
      return undefined;
    } catch (err) {
      // We hold the only handle and write one batch at a time, so any write the folder shows proves the batch.
      if (wasApplied(ops, before)) return undefined;
      // LevelDB documents that a failed synced write may still appear after a reopen: unknown.
      failed = `LevelDB write failed (${(err as Error).message}); restart the master to reopen the store`;
      return new StoreUnavailableError(failed, { outcome: 'unknown', cause: err });
    }
  }

  /** A read whose failure shows nothing: what proving a write needs. */
  const readOrNothing = (key: string): string | undefined => {
    try {
      return read(key);
    } catch {
      return undefined;
    }
  };

  /** Whether the folder shows the batch: the last write to any of its keys (a batch applies whole). */
  function wasApplied(ops: BatchOp[], before: Map<string, Version | undefined>): boolean {
    const seen = new Set<string>();
    for (const op of ops.toReversed()) {
      if (seen.has(op.key)) continue;
      seen.add(op.key);
      const raw = readOrNothing(op.key);
      if (op.type === 'put' ? raw === op.value : before.get(op.key) !== undefined && raw === undefined) return true;
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
      // Bounded above too, so that a page of a small prefix reads none of the records after it.
      const end = prefixEnd(prefix);
      const range = { ...(after === undefined ? { gte: prefix } : { gt: after }), ...(end === undefined ? {} : { lt: end }) };
      const items: Item<T>[] = [];
      let more = false;
      // A page is read in as few thread-pool round trips as its bytes allow: by default LevelDB's
      // iterator hands over 16 KiB at a time, a dozen records, and a sweep's scan of 100,000 records
      // spent a third of its time waiting between those round trips (issue 13's cold start).
      const iterator = db.iterator({ ...range, limit: limit + 1, highWaterMarkBytes: LIST_READ_BYTES });
      try {
        let ended = false;
        while (!ended) {
          const entries = await iterator.nextv(limit + 1 - items.length);
          ended = entries.length === 0;
          for (const [key, raw] of entries) {
            if (!key.startsWith(prefix)) {
              ended = true; // past the prefix: possible only where it has no upper bound
              break;
            }
            if (items.length === limit) {
              more = ended = true;
              break;
            }
            items.push(decode<T>(key, raw));
          }
        }
      } catch (err) {
        throw new StoreUnavailableError(`LevelDB read failed: ${(err as Error).message}`, { cause: err });
      } finally {
        await iterator.close().catch(() => {}); // a failed close leaves nothing to undo
      }
      const last = items.at(-1);
      return more && last ? { items, cursor: encodeCursor({ after: last.key }) } : { items };
    },

    async commit(writes: Write[]) {
      return enqueue(prepareCommit(await resolvePatches(writes, (key) => store.get(key))));
    },

    async close() {
      while (flushing) await flushing;
      await db.close();
    },
  };
  return store;
}
