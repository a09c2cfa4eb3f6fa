// The Durable Objects store: the registry in one Durable Object's SQLite storage. Every commit is
// one synchronous transaction, so nothing else runs in the object between its checks and its
// writes, and nothing of a commit is visible unless all of it is.
import type { DurableObjectStorage } from '@cloudflare/workers-types';
import { decodeCursor, encodeCursor, isAfterKey } from '../shared/cursor.ts';
import { newVersion } from '../shared/version.ts';
import { resolvePatches } from '../shared/patch.ts';
import {
  ConflictError, StoreUnavailableError, expectationHolds, isCheck, isDelete, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type Store, type Version, type Write,
} from '../../src/store.ts';
import { prefixEnd } from '../shared/prefix.ts';

/** What the store uses of a Durable Object's storage. */
export type SqlStorageHost = Pick<DurableObjectStorage, 'sql' | 'transactionSync'>;

const TABLE = 'registrar_records';

type Row = { key: string; json: string; version: string };

export function createDurableObjectStore(storage: SqlStorageHost): Store {
  const { sql } = storage;
  // Keys compare as UTF-8 bytes (SQLite's BINARY collation), i.e. in code-point order.
  sql.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (key TEXT PRIMARY KEY, json TEXT NOT NULL, version TEXT NOT NULL) WITHOUT ROWID`); // rows written are billed: no rowid index beside the key
  let closed = false;
  const open = () => {
    if (closed) throw new StoreUnavailableError('durable-objects store is closed');
  };
  const versionOf = (key: string): Version | undefined =>
    sql.exec<{ version: string }>(`SELECT version FROM ${TABLE} WHERE key = ?`, key).toArray()[0]?.version;

  const store: Store = {
    async get<T>(key: string): Promise<Item<T> | undefined> {
      open();
      const row = sql.exec<Row>(`SELECT key, json, version FROM ${TABLE} WHERE key = ?`, key).toArray()[0];
      return row && { key, value: JSON.parse(row.json) as T, version: row.version };
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
      const items = rows.slice(0, limit).map((r) => ({ key: r.key, value: JSON.parse(r.json) as T, version: r.version }));
      const last = items.at(-1);
      return rows.length > limit && last ? { items, cursor: encodeCursor({ after: last.key }) } : { items };
    },

    async commit(writes: Write[]): Promise<Record<string, Version>> {
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
        // A throw inside the callback rolls the transaction back; one after it may follow a commit.
        throw new StoreUnavailableError(`durable-objects commit failed: ${(err as Error).message}`, {
          outcome: finished ? 'unknown' : 'not-applied',
          cause: err,
        });
      }
      if ('conflict' in outcome) throw new ConflictError(outcome.conflict);
      return outcome.versions;
    },

    async close() {
      closed = true;
    },
  };
  return store;
}
