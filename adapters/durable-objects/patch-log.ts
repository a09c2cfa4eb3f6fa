// Patches kept beside the records instead of in them. SQLite in a Durable Object bills every row
// written, whatever changed in it, and a due heartbeat patches one or two fields of a 1–2 KB record
// (lastSeenAt once a granularity, rule 2). So a batch of patches goes into one log row, and the
// patches of every agent are folded now and then into a fixed number of chunk rows; a record row is
// written only by a put. A patch applies over the record row at the version it was made on (its
// base): any later put or delete gives the row a new version (versions are never reused), so an
// entry made on an older one no longer applies, and a read never sees a patch over a newer value.
import type { DurableObjectStorage } from '@cloudflare/workers-types';
import type { Version } from '../../src/store.ts';

type Sql = DurableObjectStorage['sql'];

/** A key's patches since its record row was last written: the row's version they apply on, the version they make, the fields. */
export interface PatchEntry {
  base: Version;
  version: Version;
  fields: Record<string, unknown>;
}

const LOG = 'registrar_patch_log';
const CHUNKS = 'registrar_patch_chunks';
/**
 * The log's shape, which decides the rows a patch costs (bench/cost.ts prices it from here): the
 * chunk rows entries are folded into (at 100,000 agents each holds about 800 entries, ~160 KB), and
 * the entries after which the log is folded (or as many as there are entries, whichever is more).
 */
export const PATCH_LOG_SHAPE = { chunks: 128, foldAfterEntries: 4096 } as const;
const { chunks: CHUNK_COUNT, foldAfterEntries: FOLD_AFTER_ENTRIES } = PATCH_LOG_SHAPE;

/** A string's chunk: FNV-1a over its UTF-16 code units, so it never changes between loads. */
function chunkOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % CHUNK_COUNT;
}

/** [base, version, fields]: kept as JSON text, a couple of hundred bytes an agent. */
type Packed = [Version, Version, Record<string, unknown>];
const pack = (e: PatchEntry): Packed => [e.base, e.version, e.fields];
const unpack = (json: string): PatchEntry => {
  const [base, version, fields] = JSON.parse(json) as Packed;
  return { base, version, fields };
};

export interface PatchLog {
  /** The entry that applies over a record row at `rowVersion`, if there is one. */
  over(key: string, rowVersion: Version): PatchEntry | undefined;
  /** Inside a transaction: log these entries in one row, or fold the log into the chunks when it has grown (true). */
  append(entries: Map<string, PatchEntry>): boolean;
  /** After its transaction committed: these entries apply from now on (`folded`: as append said). */
  applied(entries: Map<string, PatchEntry>, folded: boolean): void;
  /** After its transaction committed: a put or delete rewrote these keys' rows, so their entries are dropped. */
  superseded(keys: Iterable<string>): void;
  /** After a transaction whose outcome is unknown: what is in storage again. */
  reload(): void;
}

export function openPatchLog(sql: Sql, rowVersionOf: (key: string) => Version | undefined): PatchLog {
  sql.exec(`CREATE TABLE IF NOT EXISTS ${LOG} (seq INTEGER PRIMARY KEY, entries TEXT NOT NULL)`);
  sql.exec(`CREATE TABLE IF NOT EXISTS ${CHUNKS} (chunk INTEGER PRIMARY KEY, entries TEXT NOT NULL)`);
  let entries = new Map<string, string>();
  let logged = 0; // entries in the log since it was last folded
  const dirty = new Set<number>(); // chunks whose entries changed since the last fold

  function load(): void {
    entries = new Map();
    dirty.clear();
    for (const { entries: json } of sql.exec<{ entries: string }>(`SELECT entries FROM ${CHUNKS}`)) {
      for (const [key, packed] of Object.entries(JSON.parse(json) as Record<string, Packed>)) entries.set(key, JSON.stringify(packed));
    }
    logged = 0;
    for (const { entries: json } of sql.exec<{ entries: string }>(`SELECT entries FROM ${LOG} ORDER BY seq`)) {
      for (const [key, packed] of JSON.parse(json) as [string, Packed][]) {
        entries.set(key, JSON.stringify(packed)); // each entry holds all of its key's fields: the latest wins
        logged++;
      }
    }
    // An entry whose row was rewritten after it was logged (and before a fold dropped it) never applies again.
    for (const [key, json] of entries) {
      if (unpack(json).base !== rowVersionOf(key)) {
        entries.delete(key);
        dirty.add(chunkOf(key));
      }
    }
  }

  function fold(pending: Map<string, PatchEntry>): void {
    const chunks = new Map<number, Record<string, Packed>>();
    for (const c of dirty) chunks.set(c, {});
    for (const key of pending.keys()) chunks.set(chunkOf(key), {});
    for (const [key, json] of entries) {
      const chunk = chunks.get(chunkOf(key));
      if (chunk && !pending.has(key)) chunk[key] = JSON.parse(json) as Packed;
    }
    for (const [key, e] of pending) chunks.get(chunkOf(key))![key] = pack(e);
    for (const [chunk, folded] of chunks) {
      if (Object.keys(folded).length === 0) sql.exec(`DELETE FROM ${CHUNKS} WHERE chunk = ?`, chunk);
      else sql.exec(`INSERT INTO ${CHUNKS} (chunk, entries) VALUES (?, ?) ON CONFLICT (chunk) DO UPDATE SET entries = excluded.entries`, chunk, JSON.stringify(folded));
    }
    sql.exec(`DELETE FROM ${LOG}`);
  }

  load();
  return {
    over(key, rowVersion) {
      const json = entries.get(key);
      if (json === undefined) return undefined;
      const entry = unpack(json);
      return entry.base === rowVersion ? entry : undefined;
    },
    append(pending) {
      if (pending.size === 0) return false;
      const folds = logged + pending.size >= Math.max(FOLD_AFTER_ENTRIES, entries.size);
      if (folds) fold(pending);
      else sql.exec(`INSERT INTO ${LOG} (entries) VALUES (?)`, JSON.stringify([...pending].map(([key, e]) => [key, pack(e)])));
      return folds;
    },
    applied(pending, folded) {
      for (const [key, e] of pending) entries.set(key, JSON.stringify(pack(e)));
      if (folded) {
        logged = 0;
        dirty.clear();
      } else {
        logged += pending.size;
        for (const key of pending.keys()) dirty.add(chunkOf(key));
      }
    },
    superseded(keys) {
      for (const key of keys) {
        if (entries.delete(key)) dirty.add(chunkOf(key));
      }
    },
    reload: load,
  };
}
