import { randomUUID } from 'node:crypto';
import { Exception, createClient, type Client } from 'node-zookeeper-client';
import { inject } from 'vitest';
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

testAdapter('zookeeper', {
  skip,
  durable: true,
  // A multi refused before it was sent is not applied; the adapter must say so rather than 'unknown'.
  faultInjection: { unsent: 'not-applied' },
  async open() {
    const root = `/conformance/${randomUUID()}`;
    const faults = faultSwitch();
    const store = await createZooKeeperStore({ connectionString, root, newClient: (servers) => withFaults(createClient(servers), faults) });
    const handle: StoreHandle = {
      store,
      reopen: () => createZooKeeperStore({ connectionString, root }),
      faults,
      // The server and its data folder are thrown away after the run.
    };
    roots.set(handle, root);
    return handle;
  },
  bulkLoad: (handle, items) => loadZooKeeperRecords({ connectionString, root: roots.get(handle)! }, items),
});
