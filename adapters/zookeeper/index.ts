// The ZooKeeper store: the seed's high-availability store. Znode layout in layout.ts, commits in
// commit.ts, paging in list.ts, sessions in session.ts, requests in protocol.ts (and connection.ts).
import { createClient, Exception, type Client } from 'node-zookeeper-client';
import {
  assertKey, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type Store, type Version, type Write,
} from '../../src/store.ts';
import { commitWrites } from './commit.ts';
import { BUCKETS, LAYOUT, bucketPath, jsonOf, newMarker, recordData, recordPath, rootPath, versionOf } from './layout.ts';
import { listPage } from './list.ts';
import { ZooKeeperError, getData, multi, sync, together, unavailable, type Op } from './protocol.ts';
import { openSession, type Session } from './session.ts';

export interface ZooKeeperStoreOptions {
  /** `host:port[,host:port…][/root]`: the servers, and the root path when `root` is not given. */
  connectionString: string;
  /** The znode under which the records live; default `/registrar`. */
  root?: string;
  /** Makes a new, unconnected client (tests wrap it to inject faults); default `createClient`. */
  newClient?: (servers: string) => Client;
  /** ZooKeeper session timeout; default 15 s. */
  sessionTimeoutMs?: number;
  /** How long one request may wait for its answer, connecting included; default 10 s. */
  requestTimeoutMs?: number;
}

/** Splits `host:port,host:port/path` into the servers and the path. */
function parseConnectionString(connectionString: string): { servers: string; root?: string } {
  const slash = connectionString.indexOf('/');
  if (slash < 0) return { servers: connectionString };
  return { servers: connectionString.slice(0, slash), root: connectionString.slice(slash) };
}

/** Connects, makes the root and its buckets if they are missing, and returns the store. */
export async function createZooKeeperStore(options: ZooKeeperStoreOptions): Promise<Store> {
  const { root, timeoutMs, session } = connect(options);
  try {
    await ensureLayout(session.client(), root, timeoutMs);
  } catch (error) {
    await session.close();
    throw unavailable(error);
  }

  return {
    async get<T>(key: string): Promise<Item<T> | undefined> {
      assertKey(key);
      const client = session.client();
      try {
        const [, node] = await Promise.all(together(client, () => [sync(client, root, timeoutMs), getData(client, recordPath(root, key), timeoutMs)] as const));
        return node && { key, value: JSON.parse(jsonOf(node.data)) as T, version: versionOf(key, node.stat.mzxid) };
      } catch (error) {
        throw unavailable(error);
      }
    },

    async list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>> {
      const limit = pageLimit(opts);
      try {
        return await listPage<T>(session.client(), root, prefix, limit, opts?.cursor, timeoutMs);
      } catch (error) {
        throw unavailable(error);
      }
    },

    async commit(writes: Write[]): Promise<Record<string, Version>> {
      return commitWrites(session, root, prepareCommit(writes), timeoutMs);
    },

    close: () => session.close(),
  };
}

function connect(options: ZooKeeperStoreOptions): { root: string; timeoutMs: number; session: Session } {
  const parsed = parseConnectionString(options.connectionString);
  const root = rootPath(options.root ?? parsed.root ?? '/registrar');
  const sessionTimeout = options.sessionTimeoutMs ?? 15_000;
  const newClient = options.newClient ?? ((servers: string) => createClient(servers, { sessionTimeout }));
  return { root, timeoutMs: options.requestTimeoutMs ?? 10_000, session: openSession(() => newClient(parsed.servers)) };
}

/** Creates the root's ancestors, then the root and all its buckets in one multi; checks an existing root. */
async function ensureLayout(client: Client, root: string, timeoutMs: number): Promise<void> {
  await sync(client, '/', timeoutMs);
  const existing = await getData(client, root, timeoutMs);
  if (!existing) {
    const parts = root.split('/').slice(1, -1);
    for (let i = 1; i <= parts.length; i++) await createIfMissing(client, [{ op: 'create', path: `/${parts.slice(0, i).join('/')}`, data: null }], timeoutMs);
    const buckets = Array.from({ length: BUCKETS }, (_, b): Op => ({ op: 'create', path: bucketPath(root, b), data: null }));
    await createIfMissing(client, [{ op: 'create', path: root, data: Buffer.from(LAYOUT) }, ...buckets], timeoutMs);
  }
  const data = existing?.data ?? (await getData(client, root, timeoutMs))?.data;
  if (data?.toString('utf8') !== LAYOUT) {
    throw new Error(`ZooKeeper root ${root} holds something other than a registrar store (expected "${LAYOUT}")`);
  }
}

/** A multi of creates; another process creating the same znodes first is fine. */
async function createIfMissing(client: Client, ops: Op[], timeoutMs: number): Promise<void> {
  const { failure } = await multi(client, ops, timeoutMs);
  if (failure && failure.code !== Exception.NODE_EXISTS) throw new ZooKeeperError(failure.code, true, `cannot create ${ops[failure.index]!.path}`);
}

/**
 * Loads records fast, in big multis that bypass the contract's per-commit limits: for filling a
 * test store or importing a backup into an empty root. Every key must be absent.
 */
export async function loadZooKeeperRecords(options: ZooKeeperStoreOptions, records: { key: string; value: unknown }[]): Promise<void> {
  const { root, timeoutMs, session } = connect(options);
  try {
    const client = session.client();
    await ensureLayout(client, root, timeoutMs);
    const batches: Op[][] = [];
    let batch: Op[] = [];
    let bytes = 0;
    const marker = newMarker();
    for (const { key, value } of records) {
      assertKey(key);
      const op: Op = { op: 'create', path: recordPath(root, key), data: recordData(marker, JSON.stringify(value)) };
      // Well under ZooKeeper's default 1 MB request limit (jute.maxbuffer).
      if (batch.length === 1000 || bytes + op.data!.length + op.path.length > 512 * 1024) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(op);
      bytes += op.data!.length + op.path.length;
    }
    if (batch.length > 0) batches.push(batch);
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < batches.length) {
          const ops = batches[next++]!;
          const { failure } = await multi(client, ops, timeoutMs * 3);
          if (failure) throw new ZooKeeperError(failure.code, true, `cannot load ${ops[failure.index]!.path}`);
        }
      }),
    );
  } catch (error) {
    throw unavailable(error);
  } finally {
    await session.close();
  }
}

