// One ZooKeeper session at a time. The client reconnects by itself after a connection loss (same
// session); after the session expires it is dead, so the next request gets a new client.
//
// Credentials: ZooKeeper keeps a session's authentication per connection, so the client sends its
// auth packet again on every new connection. It queues that packet behind any request already
// waiting for the connection, which would then run unauthenticated (NO_AUTH, or a create refused
// for its creator-only ACL); here the auth packet goes to the front of the queue instead.
import { ACL, State, type Client } from 'node-zookeeper-client';
import jute from 'node-zookeeper-client/lib/jute/index.js';
import { StoreUnavailableError } from '../../src/store.ts';
import { frameReplies } from './protocol.ts';

/** Digest credentials: every znode the store creates is then readable and writable by them alone. */
export interface Credentials {
  user: string;
  password: string;
}

export interface Session {
  /** The live client, made (and connecting) on first use and again after an expiry. */
  client(): Client;
  /** Whether the session authenticates with credentials. */
  readonly authenticated: boolean;
  /** The ACL of every znode the store creates: creator-only with credentials, else open. */
  readonly acls: ACL[];
  close(): Promise<void>;
}

/** `newClient` returns a client that is not connected yet; the session owns and closes it. */
export function openSession(newClient: () => Client, auth?: Credentials): Session {
  let current: Client | undefined;
  let closed = false;

  return {
    authenticated: auth !== undefined,
    acls: auth ? ACL.CREATOR_ALL_ACL : ACL.OPEN_ACL_UNSAFE,

    client() {
      if (closed) throw new StoreUnavailableError('ZooKeeper store is closed');
      if (!current) {
        const client = newClient();
        client.once('expired', () => {
          if (current === client) current = undefined;
          client.close();
        });
        frameReplies(client);
        if (auth) authenticate(client, auth);
        client.connect();
        current = client;
      }
      return current;
    },

    async close() {
      closed = true;
      const client = current;
      current = undefined;
      if (!client) return;
      if (client.getState() !== State.SYNC_CONNECTED) {
        client.close(); // stops its reconnecting; there is no session to end
        return;
      }
      // Ends the session at once (its ephemeral state, none here) rather than at its timeout.
      await new Promise<void>((resolve) => {
        const done = setTimeout(resolve, 2_000);
        client.once('disconnected', () => {
          clearTimeout(done);
          resolve();
        });
        client.close();
      });
    },
  };
}

/** Adds the digest credentials to a client that is not connected yet; its auth packets go first. */
function authenticate(client: Client, { user, password }: Credentials): void {
  const connection = client.connectionManager;
  const queue = connection.queue.bind(connection);
  connection.queue = (request, callback) => {
    queue(request, callback);
    if (request.header?.type !== jute.OP_CODES.AUTH) return;
    // Still waiting for the connection (a connected client has written it already): put it first.
    const waiting = connection.packetQueue.queue;
    const at = waiting.findIndex((packet) => packet.request === request);
    if (at > 0) waiting.unshift(...waiting.splice(at, 1));
  };
  client.addAuthInfo('digest', Buffer.from(`${user}:${password}`, 'utf8'));
}
