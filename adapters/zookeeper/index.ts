// The ZooKeeper store: the seed's high-availability store. Znode layout in layout.ts, commits in
// commit.ts, paging in list.ts, sessions in session.ts, requests in protocol.ts (and connection.ts).
//
// Needs ZooKeeper 3.6 or later (list pages and commit read-backs use multiRead); opening checks it.
//
// Access: without credentials every znode the store creates is open to anyone who can reach the
// servers (OPEN_ACL_UNSAFE). With `auth` (digest credentials, REGISTRAR_STORE=
// zookeeper:<user>:<password>@<host:port>[,<host:port>…]/<path>, user and password percent-encoded
// where they hold ':', '@', '/' or '%'), the session authenticates with them and every znode it creates,
// the root's missing ancestors included, gets CREATOR_ALL_ACL: only that user (with that password)
// can read, write, list or delete it; another client gets NO_AUTH. Znodes created earlier without
// credentials keep their open ACL (set theirs with setAcl, or start from a fresh root). Give the
// credentials through the environment, never as a --store flag (a command line is visible to every
// user of the machine); they are never logged nor put in an error message.
import { createClient, Exception, type Client } from 'node-zookeeper-client';
import {
  StoreUnavailableError, assertKey, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type Store, type Version, type Write,
} from '../../src/store.ts';
import { commitWrites } from './commit.ts';
import { BUCKETS, LAYOUT, bucketPath, jsonOf, newMarker, recordData, recordPath, rootPath, versionOf } from './layout.ts';
import { listPage } from './list.ts';
import { ZooKeeperError, codeName, getData, getDataMany, multi, sync, together, unavailable, type Op } from './protocol.ts';
import { openSession, type Credentials, type Session } from './session.ts';
import { resolvePatches } from '../shared/patch.ts';

export type { Credentials } from './session.ts';

export interface ZooKeeperStoreOptions {
  /** `host:port[,host:port…][/root]`: the servers, and the root path when `root` is not given. */
  connectionString: string;
  /** The znode under which the records live; default `/registrar`. */
  root?: string;
  /** Makes a new, unconnected client (tests wrap it to inject faults); default `createClient`. */
  newClient?: (servers: string) => Client;
  /** Digest credentials: the session authenticates with them and creates creator-only znodes. */
  auth?: Credentials;
  /** ZooKeeper session timeout; default 15 s. */
  sessionTimeoutMs?: number;
  /** How long one request may wait for its answer, connecting included; default 10 s. */
  requestTimeoutMs?: number;
}

/** Splits `host:port,host:port/path` into the servers and the path. */
function parseConnectionString(connectionString: string): { servers: string; root?: string } {
  const slash = connectionString.indexOf('/');
  const servers = slash < 0 ? connectionString : connectionString.slice(0, slash);
  // Not repeated in the message: it may hold a password.
  if (servers.includes('@')) throw new Error('ZooKeeper connection string: give credentials as the auth option, not in the servers');
  return slash < 0 ? { servers } : { servers, root: connectionString.slice(slash) };
}

/** Connects, makes the root and its buckets if they are missing, and returns the store. */
export async function createZooKeeperStore(options: ZooKeeperStoreOptions): Promise<Store> {
  const { root, timeoutMs, session } = connect(options);
  try {
    await ensureLayout(session, root, timeoutMs);
  } catch (error) {
    await session.close();
    throw unavailable(error);
  }

  const store: Store = {
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
      return commitWrites(session, root, prepareCommit(await resolvePatches(writes, (key) => store.get(key))), timeoutMs);
    },

    close: () => session.close(),
  };
  return store;
}

function connect(options: ZooKeeperStoreOptions): { root: string; timeoutMs: number; session: Session } {
  const parsed = parseConnectionString(options.connectionString);
  const root = rootPath(options.root ?? parsed.root ?? '/registrar');
  const sessionTimeout = options.sessionTimeoutMs ?? 15_000;
  const newClient = options.newClient ?? ((servers: string) => createClient(servers, { sessionTimeout }));
  return { root, timeoutMs: options.requestTimeoutMs ?? 10_000, session: openSession(() => newClient(parsed.servers), options.auth) };
}

/**
 * Checks the server's version, creates the root's ancestors, then the root and all its buckets in
 * one multi, and checks an existing root.
 */
async function ensureLayout(session: Session, root: string, timeoutMs: number): Promise<void> {
  const client = session.client();
  await sync(client, '/', timeoutMs);
  const existing = await readRoot(client, root, session, timeoutMs);
  if (!existing) {
    const parts = root.split('/').slice(1, -1);
    for (let i = 1; i <= parts.length; i++) await createIfMissing(client, [{ op: 'create', path: `/${parts.slice(0, i).join('/')}`, data: null }], session, timeoutMs);
    const buckets = Array.from({ length: BUCKETS }, (_, b): Op => ({ op: 'create', path: bucketPath(root, b), data: null }));
    await createIfMissing(client, [{ op: 'create', path: root, data: Buffer.from(LAYOUT) }, ...buckets], session, timeoutMs);
  }
  const data = existing?.data ?? (await readRoot(client, root, session, timeoutMs))?.data;
  if (data?.toString('utf8') !== LAYOUT) {
    throw new Error(`ZooKeeper root ${root} holds something other than a registrar store (expected "${LAYOUT}")`);
  }
}

/** Reads the root with multiRead, which also proves the server is 3.6 or later (older ones answer UNIMPLEMENTED). */
async function readRoot(client: Client, root: string, session: Session, timeoutMs: number) {
  try {
    const [node] = await getDataMany(client, [root], timeoutMs);
    return node;
  } catch (error) {
    if (!(error instanceof ZooKeeperError)) throw error;
    if (error.code === Exception.UNIMPLEMENTED) {
      throw new StoreUnavailableError('the ZooKeeper server does not know multiRead (it answered UNIMPLEMENTED): the zookeeper store needs ZooKeeper 3.6 or later', { cause: error });
    }
    if (error.code === Exception.NO_AUTH) throw notAuthorized(root, session, error);
    throw error;
  }
}

const notAuthorized = (path: string, session: Session, cause: unknown) =>
  new StoreUnavailableError(
    `ZooKeeper znode ${path}: not authorized (NO_AUTH): ${
      session.authenticated
        ? 'another user, or the same user with another password, created it: check the credentials'
        : 'it is protected: give the credentials (zookeeper:<user>:<password>@<host:port>/<path>)'
    }`,
    { cause },
  );

/** A multi of creates; another process creating the same znodes first is fine. */
async function createIfMissing(client: Client, ops: Op[], session: Session, timeoutMs: number): Promise<void> {
  const { failure } = await multi(client, ops, session.acls, timeoutMs);
  if (!failure || failure.code === Exception.NODE_EXISTS) return;
  const path = ops[failure.index]!.path;
  if (failure.code === Exception.NO_AUTH) throw notAuthorized(path.slice(0, path.lastIndexOf('/')) || '/', session, undefined);
  throw new ZooKeeperError(failure.code, true, `cannot create ${path}: ${codeName(failure.code)}`);
}

/**
 * Loads records fast, in big multis that bypass the contract's per-commit limits: for filling a
 * test store or importing a backup into an empty root. Every key must be absent.
 */
export async function loadZooKeeperRecords(options: ZooKeeperStoreOptions, records: { key: string; value: unknown }[]): Promise<void> {
  const { root, timeoutMs, session } = connect(options);
  try {
    const client = session.client();
    await ensureLayout(session, root, timeoutMs);
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
          const { failure } = await multi(client, ops, session.acls, timeoutMs * 3);
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

