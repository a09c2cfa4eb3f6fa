// The Durable Objects store: the registry in one Durable Object's SQLite storage. Every commit is
// one synchronous transaction, so nothing else runs in the object between its checks and its
// writes, and nothing of a commit is visible unless all of it is. Commits of patches only (a due
// heartbeat's lastSeenAt) wait up to `patchWindowMs` and go out together, in one log row
// (./patch-log.ts): SQLite bills rows written, and a patch would otherwise rewrite a whole record.
import type { DurableObjectStorage } from '@cloudflare/workers-types';
import { decodeCursor, encodeCursor, isAfterKey } from '../shared/cursor.ts';
import { newVersion } from '../shared/version.ts';
import { resolvePatches } from '../shared/patch.ts';
import {
  ConflictError, StoreLimitError, StoreUnavailableError, expectationHolds, isCheck, isDelete, isPatch, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type PatchWrite, type Store, type Version, type Write,
} from '../../src/store.ts';
import { prefixEnd } from '../shared/prefix.ts';
import { openPatchLog, type PatchEntry } from './patch-log.ts';

/** What the store uses of a Durable Object's storage. */
export type SqlStorageHost = Pick<DurableObjectStorage, 'sql' | 'transactionSync'>;

export interface DurableObjectStoreOptions {
  /**
   * How long a commit of patches waits for others to share its log row (0: only those queued in
   * the same turn). Each is answered when its row is durable, so a wait only adds latency.
   */
  patchWindowMs?: number;
}

/**
 * The Worker's window: a due heartbeat (one in four or five) waits at most 1/60 of a heartbeat
 * interval, 250 ms at the default 15 s, against an agent's minute of slack (agentTimeout less the
 * interval); at 10,000 agents about 34 due heartbeats then share a row (bench/cost.ts).
 */
export const patchWindowFor = (heartbeatIntervalMs: number): number => Math.min(250, heartbeatIntervalMs / 60);

const TABLE = 'registrar_records';

type Row = { key: string; json: string; version: string };

/** A patch-only commit waiting for its batch. */
interface QueuedPatches {
  writes: PatchWrite[];
  resolve(versions: Record<string, Version>): void;
  reject(err: Error): void;
}

export function createDurableObjectStore(storage: SqlStorageHost, opts: DurableObjectStoreOptions = {}): Store {
  const { sql } = storage;
  // Keys compare as UTF-8 bytes (SQLite's BINARY collation), i.e. in code-point order.
  sql.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (key TEXT PRIMARY KEY, json TEXT NOT NULL, version TEXT NOT NULL) WITHOUT ROWID`); // rows written are billed: no rowid index beside the key
  let closed = false;
  const open = () => {
    if (closed) throw new StoreUnavailableError('durable-objects store is closed');
  };
  const rowOf = (key: string): Row | undefined => sql.exec<Row>(`SELECT key, json, version FROM ${TABLE} WHERE key = ?`, key).toArray()[0];
  const rowVersionOf = (key: string): Version | undefined =>
    sql.exec<{ version: string }>(`SELECT version FROM ${TABLE} WHERE key = ?`, key).toArray()[0]?.version;
  const patches = openPatchLog(sql, rowVersionOf);
  /** A row as an item, with the patches made on its version. */
  const itemOf = <T>(row: Row): Item<T> => {
    const entry = patches.over(row.key, row.version);
    const value = JSON.parse(row.json) as T;
    return entry ? { key: row.key, value: { ...(value as object), ...entry.fields } as T, version: entry.version } : { key: row.key, value, version: row.version };
  };
  const versionOf = (key: string): Version | undefined => {
    const version = rowVersionOf(key);
    return version === undefined ? undefined : (patches.over(key, version)?.version ?? version);
  };

  /** The error for a transaction that threw; `finished`: its callback ran to the end, so SQLite may have committed it. */
  function unavailable(err: unknown, finished: boolean): StoreUnavailableError {
    // A throw inside the callback rolls the transaction back; one after it may follow a commit,
    // and then the patches in memory may differ from storage's: they are read again.
    if (finished) patches.reload();
    return new StoreUnavailableError(`durable-objects commit failed: ${(err as Error).message}`, { outcome: finished ? 'unknown' : 'not-applied', cause: err });
  }

  const queue: QueuedPatches[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const windowMs = opts.patchWindowMs ?? 0;

  /**
   * One transaction for every queued commit of patches: each is checked in arrival order against
   * the rows and the commits before it in the batch, so a conflict refuses that commit alone. The
   * entries land in one log row, and every commit is answered once the transaction has.
   */
  function flush(): void {
    flushTimer = undefined;
    const batch = queue.splice(0);
    if (closed) {
      for (const c of batch) c.reject(new StoreUnavailableError('durable-objects store is closed'));
      return;
    }
    const staged = new Map<string, PatchEntry>();
    let finished = false;
    let folded = false;
    let outcomes: (Record<string, Version> | Error)[];
    try {
      outcomes = storage.transactionSync(() => {
        const results = batch.map(({ writes }) => {
          const next = new Map<string, PatchEntry>();
          for (const { key, expect, patch } of writes) {
            const earlier = staged.get(key); // patched by a commit before it in this batch: an object
            const before = earlier ? { ...earlier, isObject: true } : current(key);
            if (!before || before.version !== expect) return new ConflictError(key);
            if (!before.isObject) return new StoreLimitError(`the value of ${JSON.stringify(key)} is not an object: it cannot be patched`);
            next.set(key, { base: before.base, version: newVersion(), fields: { ...before.fields, ...patch } });
          }
          const versions: Record<string, Version> = {};
          for (const [key, entry] of next) {
            staged.set(key, entry);
            versions[key] = entry.version;
          }
          return versions;
        });
        folded = patches.append(staged);
        finished = true;
        return results;
      });
    } catch (err) {
      const failure = unavailable(err, finished);
      for (const c of batch) c.reject(failure);
      return;
    }
    patches.applied(staged, folded);
    batch.forEach((c, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) c.reject(outcome);
      else c.resolve(outcome);
    });
  }

  /** What a patch builds on: the row's version or its entry's, and the fields patched since the row was written. */
  function current(key: string): (PatchEntry & { isObject: boolean }) | undefined {
    const row = rowOf(key);
    if (!row) return undefined;
    const isObject = row.json.startsWith('{');
    const entry = patches.over(key, row.version);
    return entry ? { ...entry, isObject } : { base: row.version, version: row.version, fields: {}, isObject };
  }

  const store: Store = {
    async get<T>(key: string): Promise<Item<T> | undefined> {
      open();
      const row = rowOf(key);
      return row && itemOf<T>(row);
    },

    async list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>> {
      open();
      const limit = pageLimit(opts);
      const after = opts?.cursor === undefined ? '' : decodeCursor(opts.cursor, isAfterKey).after;
      if (!prefix.isWellFormed()) return { items: [] }; // no key can start with it
      const end = prefixEnd(prefix);
      const rows = sql
        .exec<Row>(
          `SELECT key, json, version FROM ${TABLE} WHERE key >= ? AND key > ?${end === undefined ? '' : ' AND key < ?'} ORDER BY key LIMIT ?`,
          ...(end === undefined ? [prefix, after, limit + 1] : [prefix, after, end, limit + 1]),
        )
        .toArray();
      const items = rows.slice(0, limit).map((r) => itemOf<T>(r));
      const last = items.at(-1);
      return rows.length > limit && last ? { items, cursor: encodeCursor({ after: last.key }) } : { items };
    },

    async commit(writes: Write[]): Promise<Record<string, Version>> {
      if (Array.isArray(writes) && writes.length > 0 && writes.every((w) => typeof w === 'object' && w !== null && isPatch(w))) {
        prepareCommit(writes); // beyond limits or malformed: refused now, nothing queued
        open();
        return new Promise((resolve, reject) => {
          queue.push({ writes, resolve, reject });
          flushTimer ??= setTimeout(flush, windowMs);
        });
      }
      const prepared = prepareCommit(await resolvePatches(writes, (key) => store.get(key)));
      open();
      let finished = false; // the callback ran to its end: SQLite may have committed it
      let outcome: { conflict: string } | { versions: Record<string, Version> };
      try {
        outcome = storage.transactionSync(() => {
          // Every expectation first: a conflict returns before anything is written.
          for (const { write } of prepared) {
            if (!expectationHolds(write.expect, versionOf(write.key))) return { conflict: write.key };
          }
          const versions: Record<string, Version> = {};
          for (const { write, json } of prepared) {
            if (isCheck(write)) continue;
            if (isDelete(write)) {
              sql.exec(`DELETE FROM ${TABLE} WHERE key = ?`, write.key);
              continue;
            }
            const version = newVersion();
            sql.exec(
              `INSERT INTO ${TABLE} (key, json, version) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET json = excluded.json, version = excluded.version`,
              write.key, json!, version,
            );
            versions[write.key] = version;
          }
          finished = true;
          return { versions };
        });
      } catch (err) {
        throw unavailable(err, finished);
      }
      if ('conflict' in outcome) throw new ConflictError(outcome.conflict);
      // The rows just written carry new versions: no entry made on an older one applies to them.
      patches.superseded(prepared.filter(({ write }) => !isCheck(write)).map(({ write }) => write.key));
      return outcome.versions;
    },

    async close() {
      closed = true;
      if (flushTimer !== undefined) {
        clearTimeout(flushTimer);
        flush();
      }
    },
  };
  return store;
}
