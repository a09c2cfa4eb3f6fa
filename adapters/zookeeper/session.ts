// One ZooKeeper session at a time. The client reconnects by itself after a connection loss (same
// session); after the session expires it is dead, so the next request gets a new client.
import { State, type Client } from 'node-zookeeper-client';
import { StoreUnavailableError } from '../../src/store.ts';
import { frameReplies } from './protocol.ts';

export interface Session {
  /** The live client, made (and connecting) on first use and again after an expiry. */
  client(): Client;
  close(): Promise<void>;
}

/** `newClient` returns a client that is not connected yet; the session owns and closes it. */
export function openSession(newClient: () => Client): Session {
  let current: Client | undefined;
  let closed = false;

  return {
    client() {
      if (closed) throw new StoreUnavailableError('ZooKeeper store is closed');
      if (!current) {
        const client = newClient();
        client.once('expired', () => {
          if (current === client) current = undefined;
          client.close();
        });
        frameReplies(client);
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
