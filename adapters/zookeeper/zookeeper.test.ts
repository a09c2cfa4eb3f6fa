// What is special to the ZooKeeper store, beyond the conformance suite: sessions that expire, the
// guard against a delete and re-create slipping between a commit's read and its multi, the root.
import { randomUUID } from 'node:crypto';
import { ACL, Exception, createClient, type Client } from 'node-zookeeper-client';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConflictError, StoreUnavailableError, type Store } from '../../src/store.ts';
import { createZooKeeperStore } from './index.ts';
import { bucketOf, bucketPath, recordPath } from './layout.ts';

const { connectionString = '', skip } = inject('zookeeper');
const MULTI = 14;

/** The first of these events, or undefined after the timeout. */
function firstEvent(client: Client, events: string[], timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    for (const event of events) {
      client.once(event, () => {
        clearTimeout(timer);
        resolve(event);
      });
    }
  });
}

/**
 * Another client takes over the session and ends it, so the server expires it for the first. The
 * first client may win the session back before the close lands (then the session dies under it and
 * it learns so when it reconnects), so this repeats until the first client sees the expiry.
 */
async function expireSession(first: Client): Promise<void> {
  const expired = firstEvent(first, ['expired'], 20_000);
  for (let attempt = 0; attempt < 10; attempt++) {
    const thief = createClient(connectionString, { sessionId: first.getSessionId(), sessionPassword: first.getSessionPassword() });
    const seen = firstEvent(thief, ['connected', 'expired'], 5_000);
    thief.connect();
    const outcome = await seen;
    thief.close();
    if (outcome !== 'connected') break; // the session is already gone on the server
    if (await Promise.race([expired, new Promise((r) => setTimeout(() => r(false), 1_000))])) return;
  }
  if (!(await expired)) throw new Error('the session never expired');
}

describe.skipIf(skip)(`zookeeper store${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  const stores: Store[] = [];
  const open = async (options: Partial<Parameters<typeof createZooKeeperStore>[0]> = {}) => {
    const store = await createZooKeeperStore({ connectionString, root: `/special/${randomUUID()}`, ...options });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it('keeps working with a new session after its session expires', { timeout: 40_000 }, async () => {
    const clients: Client[] = [];
    const newClient = (servers: string) => {
      const client = createClient(servers);
      clients.push(client);
      return client;
    };
    const store = await open({ newClient });
    const { a } = await store.commit([{ key: 'a', expect: 'absent', put: 1 }]);
    await expireSession(clients[0]!);
    expect(await store.get('a')).toEqual({ key: 'a', value: 1, version: a });
    await store.commit([{ key: 'a', expect: a!, put: 2 }]);
    expect(clients).toHaveLength(2);
  });

  it('catches a delete and re-create between the read and the multi of a commit', async () => {
    const root = `/special/${randomUUID()}`;
    let interfere: (() => Promise<void>) | undefined;
    const withInterference = (client: Client) => {
      const connection = client.connectionManager;
      const queue = connection.queue.bind(connection);
      connection.queue = (request, callback) => {
        const before = interfere;
        if (before && request.header?.type === MULTI) {
          interfere = undefined;
          void before().then(() => queue(request, callback));
        } else {
          queue(request, callback);
        }
      };
      return client;
    };
    const store = await open({ root, newClient: (servers) => withInterference(createClient(servers)) });
    const other = await open({ root });
    const { a } = await store.commit([{ key: 'a', expect: 'absent', put: 'first' }]);
    // Same znode path, same data version (0) as when the commit read it, but another record.
    interfere = async () => {
      await other.commit([{ key: 'a', expect: a!, delete: true }]);
      await other.commit([{ key: 'a', expect: 'absent', put: 'second' }]);
    };
    const err = await store.commit([{ key: 'a', expect: a!, put: 'stale' }]).catch((e: unknown) => e);
    expect(interfere, 'the interference ran').toBeUndefined();
    expect(err).toBeInstanceOf(ConflictError);
    expect((await store.get('a'))?.value).toBe('second');
  });

  it('refuses a root that holds something other than a store', async () => {
    const root = `/special/${randomUUID()}`;
    const store = await open({ root: `${root}/inner` });
    await store.close();
    await expect(createZooKeeperStore({ connectionString, root })).rejects.toThrow(/something other than a registrar store/);
  });
});

/** A connected client of the test server, without credentials unless given. */
async function rawClient(auth?: string): Promise<Client> {
  const client = createClient(connectionString);
  if (auth !== undefined) client.addAuthInfo('digest', Buffer.from(auth));
  const connected = firstEvent(client, ['connected'], 10_000);
  client.connect();
  if ((await connected) !== 'connected') throw new Error('raw client did not connect');
  return client;
}

/** The ZooKeeper error code a public-API call ends with, or 'ok'. */
function codeOf(call: (callback: (error: { code: number } | null) => void) => void): Promise<number | 'ok'> {
  return new Promise((resolve) => call((error) => resolve(error ? error.code : 'ok')));
}

describe.skipIf(skip)(`zookeeper store with digest credentials${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  const stores: Store[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const client of clients.splice(0)) client.close();
  });
  const auth = { user: 'registrar', password: `pw-${randomUUID()}` };
  const open = async (options: Partial<Parameters<typeof createZooKeeperStore>[0]>) => {
    const store = await createZooKeeperStore({ connectionString, ...options });
    stores.push(store);
    return store;
  };
  const raw = async (credentials?: string) => {
    const client = await rawClient(credentials);
    clients.push(client);
    return client;
  };

  it('creates every znode for its own identity only: a client without the credentials can neither read nor write', async () => {
    const top = `/secured-${randomUUID()}`;
    const root = `${top}/registrar`;
    const store = await open({ root, auth });
    const { 'agents/1': version } = await store.commit([{ key: 'agents/1', expect: 'absent', put: { secret: 'hash' } }]);
    const record = recordPath(root, 'agents/1');
    const bucket = bucketPath(root, bucketOf('agents/1'));

    const stranger = await raw();
    for (const path of [top, root, bucket, record]) {
      expect(await codeOf((cb) => stranger.getData(path, cb)), `read ${path}`).toBe(Exception.NO_AUTH);
      expect(await codeOf((cb) => stranger.setData(path, Buffer.from('x'), -1, cb)), `write ${path}`).toBe(Exception.NO_AUTH);
    }
    expect(await codeOf((cb) => stranger.getChildren(bucket, cb)), 'list a bucket').toBe(Exception.NO_AUTH);
    expect(await codeOf((cb) => stranger.create(`${bucket}/planted`, null, ACL.OPEN_ACL_UNSAFE, 0, cb)), 'plant a record').toBe(Exception.NO_AUTH);
    expect(await codeOf((cb) => stranger.remove(record, -1, cb)), 'delete a record').toBe(Exception.NO_AUTH);
    // Another password is another identity.
    const impostor = await raw(`${auth.user}:wrong`);
    expect(await codeOf((cb) => impostor.getData(record, cb)), 'read with a wrong password').toBe(Exception.NO_AUTH);
    expect(await codeOf((cb) => stranger.getACL(record, cb)), 'read the ACL').toBe(Exception.NO_AUTH);
    // The ACL names the digest identity alone.
    const owner = await raw(`${auth.user}:${auth.password}`);
    const acl = await new Promise<ACL[]>((resolve, reject) => owner.getACL(record, (e, a) => (e ? reject(e) : resolve(a))));
    expect(acl.map((a) => [a.id.scheme, a.id.id.split(':')[0], a.permission])).toEqual([['digest', auth.user, 31]]);

    // The same credentials in a new session read and write it.
    const again = await open({ root, auth });
    expect(await again.get('agents/1')).toEqual({ key: 'agents/1', value: { secret: 'hash' }, version });
    await again.commit([{ key: 'agents/1', expect: version!, delete: true }]);
  });

  it('refuses to open a protected store without the right credentials, saying why', async () => {
    const root = `/secured-${randomUUID()}/registrar`;
    await (await open({ root, auth })).close();
    for (const wrong of [undefined, { user: auth.user, password: 'wrong' }]) {
      const err = await createZooKeeperStore({ connectionString, root, auth: wrong }).catch((e: unknown) => e);
      expect(err, JSON.stringify(wrong)).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/not authori[sz]ed.*credentials/i);
      expect((err as Error).message).not.toContain('wrong');
    }
  });

  it('sends the credentials before any request queued while it reconnects', { timeout: 30_000 }, async () => {
    const clientsMade: Client[] = [];
    const root = `/secured-${randomUUID()}/registrar`;
    const store = await open({ root, auth, newClient: (servers) => {
      const client = createClient(servers);
      clientsMade.push(client);
      return client;
    } });
    const { a } = await store.commit([{ key: 'a', expect: 'absent', put: 1 }]);
    for (let i = 0; i < 3; i++) {
      // A connection loss: the same session goes on over a new connection, and the request below
      // waits in the client's queue until then.
      const lost = firstEvent(clientsMade[0]!, ['disconnected'], 5_000);
      clientsMade[0]!.connectionManager.socket!.destroy();
      expect(await lost).toBe('disconnected');
      expect(await store.get('a'), `after reconnect ${i}`).toEqual({ key: 'a', value: 1, version: a });
    }
    expect(clientsMade).toHaveLength(1);
  });

  it('refuses a ZooKeeper server older than 3.6 (no multiRead) with a clear error', async () => {
    // Such a server answers an opcode it does not know with UNIMPLEMENTED and drops the connection:
    // this one is asked with an opcode no version knows in place of multiRead's.
    const asOldServer = (client: Client) => {
      const connection = client.connectionManager;
      const queue = connection.queue.bind(connection);
      connection.queue = (request, callback) => {
        const toBuffer = request.toBuffer.bind(request);
        request.toBuffer = () => {
          const bytes = toBuffer();
          if (bytes.length >= 12 && bytes.readInt32BE(8) === 22) bytes.writeInt32BE(999, 8);
          return bytes;
        };
        queue(request, callback);
      };
      return client;
    };
    const err = await createZooKeeperStore({ connectionString, root: `/old-${randomUUID()}`, newClient: (servers) => asOldServer(createClient(servers)) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/ZooKeeper 3\.6 or later/);
  });
});
