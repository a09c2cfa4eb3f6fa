// The etcd store: records under a prefix (layout.ts), commits as txns with revision compares
// (commit.ts), paged range reads (list.ts), deadlines and error classes (calls.ts).
//
// Reads are linearizable (etcd's default): they go through the leader's read index, so a read
// after a commit sees it, whichever member answers. REGISTRAR_STORE=etcd:<host:port>[,<host:port>…]/<prefix>.
import type { Etcd3 } from 'etcd3';
import {
  StoreUnavailableError, assertKey, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type Store, type Version, type Write,
} from '../../src/store.ts';
import { type Kv, read, unavailable } from './calls.ts';
import { newEtcdClient } from './client.ts';
import { commitWrites } from './commit.ts';
import { LAYOUT, type Layout, layoutOf, newMarker, recordKey, recordValue, rootPath, recordOf, versionOf } from './layout.ts';
import { listPage } from './list.ts';
import { resolvePatches } from '../shared/patch.ts';

export { newEtcdClient } from './client.ts';

export interface EtcdStoreOptions {
  /** The cluster's client URLs as host:port (or http://host:port). */
  endpoints: string[];
  /** Where the records live: an absolute path like /registrar (the default). */
  prefix?: string;
  /** How long one call may take, its retries included; default 5 s. */
  requestTimeoutMs?: number;
  /** Makes the client (tests wrap its `kv` to inject faults); default newEtcdClient. */
  newClient?: (endpoints: string[]) => Etcd3;
}

/** Connects, checks or writes the layout marker under the prefix, and returns the store. */
export async function createEtcdStore(options: EtcdStoreOptions): Promise<Store> {
  const { client, layout, timeoutMs } = connect(options);
  const kv: Kv = client.kv;
  try {
    await ensureLayout(kv, layout, timeoutMs);
  } catch (error) {
    client.close();
    throw error;
  }

  const store: Store = {
    async get<T>(key: string): Promise<Item<T> | undefined> {
      assertKey(key);
      const answer = await read('get', timeoutMs, (deadline) => kv.range({ key: recordKey(layout, key) }, { deadline }));
      const stored = answer.kvs[0];
      return stored && { key, value: recordOf<T>(stored.value), version: versionOf(key, stored.mod_revision) };
    },

    list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>> {
      return listPage<T>(kv, layout, prefix, pageLimit(opts), opts?.cursor, timeoutMs);
    },

    async commit(writes: Write[]): Promise<Record<string, Version>> {
      return commitWrites(kv, layout, prepareCommit(await resolvePatches(writes, (key) => store.get(key))), timeoutMs);
    },

    async close() {
      client.close();
    },
  };
  return store;
}

function connect(options: EtcdStoreOptions): { client: Etcd3; layout: Layout; timeoutMs: number } {
  if (options.endpoints.length === 0) throw new Error('etcd store: no endpoints');
  const layout = layoutOf(rootPath(options.prefix ?? '/registrar'));
  const client = (options.newClient ?? newEtcdClient)(options.endpoints);
  return { client, layout, timeoutMs: options.requestTimeoutMs ?? 5_000 };
}

/**
 * Writes the layout marker on a fresh prefix (the first of racing openers wins), and checks it. A
 * prefix inside another store's records or markers (`/a/r/...` while `/a` is a store) is refused:
 * its keys would be that store's records.
 */
async function ensureLayout(kv: Kv, layout: Layout, timeoutMs: number): Promise<void> {
  const parts = layout.root.split('/');
  const enclosing = parts.slice(1).flatMap((part, i) => (part === 'r' || part === 'm') && i > 0 ? [Buffer.from(`${parts.slice(0, i + 1).join('/')}/layout`)] : []);
  const keys = [layout.layoutKey, ...enclosing];
  const answer = await read('open', timeoutMs, (deadline) =>
    kv.txn(
      {
        compare: keys.map((key) => ({ key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 })),
        success: [{ request_put: { key: layout.layoutKey, value: Buffer.from(LAYOUT) } }],
        failure: keys.map((key) => ({ request_range: { key } })),
      },
      { deadline },
    ),
  );
  // Retrying this txn is safe: it is idempotent, and a lost first answer only shows as the failure branch.
  if (answer.succeeded) return;
  const found = answer.responses.map((r) => r.response_range?.kvs?.[0]);
  const outer = found.slice(1).findIndex(Boolean);
  if (outer >= 0) {
    const store = enclosing[outer]!.toString().slice(0, -'/layout'.length);
    throw new StoreUnavailableError(`etcd prefix ${layout.root} lies inside the registrar store at ${store}: choose a prefix outside it`);
  }
  if (found[0]?.value.toString('utf8') !== LAYOUT) {
    throw new StoreUnavailableError(`etcd prefix ${layout.root} holds something other than a registrar store (expected "${LAYOUT}" at ${layout.root}/layout)`);
  }
}

/**
 * Loads records fast, in txns of up to 128 puts (etcd's default --max-txn-ops), bypassing the
 * contract's per-commit limits: for filling a test store or importing a backup into an empty prefix.
 */
export async function loadEtcdRecords(options: EtcdStoreOptions, records: { key: string; value: unknown }[]): Promise<void> {
  const { client, layout, timeoutMs } = connect(options);
  try {
    await ensureLayout(client.kv, layout, timeoutMs);
    const marker = newMarker();
    const batches: { key: string; value: unknown }[][] = [];
    for (let i = 0; i < records.length; i += 128) batches.push(records.slice(i, i + 128));
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          for (const { key } of batch) assertKey(key);
          await client.kv
            .txn({ success: batch.map(({ key, value }) => ({ request_put: { key: recordKey(layout, key), value: recordValue(marker, JSON.stringify(value)) } })) }, { deadline: new Date(Date.now() + 6 * timeoutMs) })
            .catch((error: unknown) => {
              throw unavailable('load', error, 'unknown');
            });
        }
      }),
    );
  } finally {
    client.close();
  }
}
