import { randomUUID } from 'node:crypto';
import { Exception, createClient, type Client } from 'node-zookeeper-client';
import { describe, expect, inject, it } from 'vitest';
import { parseStore } from '../../src/config.ts';
import { openStore } from '../../src/stores.ts';
import { createZooKeeperStore, loadZooKeeperRecords } from '../../adapters/zookeeper/index.ts';
import { faultSwitch, type FaultSwitch } from './faults.ts';
import { testAdapter, type StoreHandle } from './index.ts';

const { connectionString = '', skip } = inject('zookeeper');
const roots = new WeakMap<StoreHandle, string>();
const MULTI = 14;

/**
 * Fails the client's next multi with a connection loss. 'before': the client refuses it inside
 * `queue()`, as it does when its connection is closed, so the request never reaches the connection
 * and the adapter knows it was not sent. 'after': the server applies it and the answer is dropped,
 * as when the connection breaks at that moment.
 */
function withFaults(client: Client, faults: FaultSwitch): Client {
  const connection = client.connectionManager;
  const queue = connection.queue.bind(connection);
  connection.queue = (request, callback) => {
    const fault = request.header?.type === MULTI ? faults.take() : undefined;
    const lost = () => callback(Exception.create(Exception.CONNECTION_LOSS));
    if (fault === 'before') lost();
    else if (fault === 'after') queue(request, lost);
    else queue(request, callback);
  };
  return client;
}

// With digest credentials, as a deployment should be: every znode of the suite is creator-only.
const auth = { user: 'conformance', password: `pw-${randomUUID()}` };

testAdapter('zookeeper', {
  skip,
  durable: true,
  // A multi refused before it was sent is not applied; the adapter must say so rather than 'unknown'.
  faultInjection: { unsent: 'not-applied' },
  async open() {
    const root = `/conformance/${randomUUID()}`;
    const faults = faultSwitch();
    const store = await createZooKeeperStore({ connectionString, root, auth, newClient: (servers) => withFaults(createClient(servers), faults) });
    const handle: StoreHandle = {
      store,
      reopen: () => createZooKeeperStore({ connectionString, root, auth }),
      faults,
      // The server and its data folder are thrown away after the run.
    };
    roots.set(handle, root);
    return handle;
  },
  bulkLoad: (handle, items) => loadZooKeeperRecords({ connectionString, root: roots.get(handle)!, auth }, items),
});

describe.skipIf(skip)(`zookeeper: credentials in REGISTRAR_STORE${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  it('opens a store whose znodes only those credentials can read', async () => {
    const root = `/spec-${randomUUID()}`;
    const store = await openStore(parseStore(`zookeeper:spec%40user:p%40ss%2Fword@${connectionString}${root}`));
    try {
      await store.commit([{ key: 'a', expect: 'absent', put: 1 }]);
      const stranger = createClient(connectionString);
      stranger.connect();
      const code = await new Promise((resolve) => stranger.getData(root, (error) => resolve(error?.code ?? 'read')));
      stranger.close();
      expect(code).toBe(Exception.NO_AUTH);
      const owner = await createZooKeeperStore({ connectionString, root, auth: { user: 'spec@user', password: 'p@ss/word' } });
      expect((await owner.get('a'))?.value).toBe(1);
      await owner.close();
    } finally {
      await store.close();
    }
  });
});
