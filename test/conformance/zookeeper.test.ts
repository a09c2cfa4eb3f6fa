import { randomUUID } from 'node:crypto';
import { Exception, createClient, type Client } from 'node-zookeeper-client';
import { inject } from 'vitest';
import { createZooKeeperStore, loadZooKeeperRecords } from '../../adapters/zookeeper/index.ts';
import { testAdapter, type StoreHandle } from './index.ts';

const { connectionString = '', skip } = inject('zookeeper');
const roots = new WeakMap<StoreHandle, string>();
const MULTI = 14;

type Fault = 'before' | 'after';

/**
 * Fails the client's next multi with a connection loss: 'before' without sending it, 'after' once
 * the server has applied it (the answer is dropped, as when the connection breaks at that moment).
 */
function withFaults(client: Client, nextFault: () => Fault | undefined): Client {
  const connection = client.connectionManager;
  const queue = connection.queue.bind(connection);
  connection.queue = (request, callback) => {
    const fault = request.header?.type === MULTI ? nextFault() : undefined;
    const lost = () => callback(Exception.create(Exception.CONNECTION_LOSS));
    if (fault === 'before') setImmediate(lost);
    else if (fault === 'after') queue(request, lost);
    else queue(request, callback);
  };
  return client;
}

testAdapter('zookeeper', {
  skip,
  async open() {
    const root = `/conformance/${randomUUID()}`;
    let fault: Fault | undefined;
    const nextFault = () => {
      const armed = fault;
      fault = undefined;
      return armed;
    };
    const store = await createZooKeeperStore({ connectionString, root, newClient: (servers) => withFaults(createClient(servers), nextFault) });
    const handle: StoreHandle = {
      store,
      reopen: () => createZooKeeperStore({ connectionString, root }),
      failNextWrite: (mode) => {
        fault = mode;
      },
      // The server and its data folder are thrown away after the run.
    };
    roots.set(handle, root);
    return handle;
  },
  bulkLoad: (handle, items) => loadZooKeeperRecords({ connectionString, root: roots.get(handle)! }, items),
});
