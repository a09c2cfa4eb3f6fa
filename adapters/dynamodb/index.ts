// The DynamoDB store. The table layout is described in schema.ts, listing in list.ts, how a commit
// becomes one request and how its unknown outcomes are settled in commit.ts, error reading in errors.ts,
// the time every request and every call may take in deadline.ts.
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { newVersion } from '../shared/version.ts';
import { writeCommit } from './commit.ts';
import { requestTimeout, startCall, withDeadline } from './deadline.ts';
import { describe } from './errors.ts';
import { listPage } from './list.ts';
import { fromItem, primaryKey } from './schema.ts';
import {
  StoreLimitError, StoreUnavailableError, isPatch, isPut, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type Store, type Version, type Write,
} from '../../src/store.ts';

export { bulkPut } from './bulk.ts';
export { createTable, tableSchema } from './schema.ts';
export { DEFAULT_REQUEST_TIMEOUT_MS } from './deadline.ts';

export interface DynamoDbStoreOptions {
  /** Owned by the caller, who destroys it; tests add middleware to it to inject faults. */
  client: DynamoDBClient;
  table: string;
  /**
   * How long one request to DynamoDB may take, the SDK's own retries included (default 2 s); a call
   * that needs several requests (a list page, a commit and the replays that settle it) gets twice
   * that in all. After it a read is StoreUnavailableError, a write one of unknown outcome unless a
   * replay settled it.
   */
  requestTimeoutMs?: number;
}

export function createDynamoDbStore({ client, table, requestTimeoutMs }: DynamoDbStoreOptions): Store {
  const timeoutMs = requestTimeout(requestTimeoutMs);
  let closed = false;
  const open = () => {
    if (closed) throw new StoreUnavailableError('DynamoDB store is closed');
  };
  /** Reads change nothing, so any failure is simply unavailability. */
  const reading = async <R>(what: string, read: () => Promise<R>): Promise<R> => {
    open();
    try {
      return await read();
    } catch (err) {
      if (err instanceof StoreLimitError) throw err; // a malformed cursor
      throw new StoreUnavailableError(`DynamoDB ${what} failed: ${describe(err)}`, { cause: err });
    }
  };

  return {
    get<T>(key: string): Promise<Item<T> | undefined> {
      return reading('get', async () => {
        const command = new GetItemCommand({ TableName: table, Key: primaryKey(key), ConsistentRead: true });
        const out = await withDeadline(timeoutMs, (abortSignal) => client.send(command, { abortSignal }));
        return out.Item && fromItem<T>(out.Item);
      });
    },

    list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>> {
      return reading('list', () => listPage<T>(client, startCall(timeoutMs), table, prefix, pageLimit(opts), opts?.cursor));
    },

    async commit(writes: Write[]): Promise<Record<string, Version>> {
      const prepared = prepareCommit(writes);
      open();
      const versions: Record<string, Version> = {};
      for (const { write } of prepared) if (isPut(write) || isPatch(write)) versions[write.key] = newVersion();
      await writeCommit(client, table, prepared, versions, startCall(timeoutMs));
      return versions;
    },

    async close() {
      closed = true;
    },
  };
}
