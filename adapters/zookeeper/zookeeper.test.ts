// What is special to the ZooKeeper store, beyond the conformance suite: sessions that expire, the
// guard against a delete and re-create slipping between a commit's read and its multi, the root.
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'node-zookeeper-client';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConflictError, type Store } from '../../src/store.ts';
import { createZooKeeperStore } from './index.ts';

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
