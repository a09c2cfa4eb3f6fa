// The DynamoDB store. The table layout is described in schema.ts, listing in list.ts, how a commit
// becomes one request and how its unknown outcomes are settled in commit.ts, error reading in errors.ts.
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { newVersion } from '../shared/version.ts';
import { writeCommit } from './commit.ts';
import { describe } from './errors.ts';
import { listPage } from './list.ts';
import { fromItem, primaryKey } from './schema.ts';
import {
  StoreLimitError, StoreUnavailableError, isPut, pageLimit, prepareCommit,
  type Item, type ListOptions, type Page, type Store, type Version, type Write,
} from '../../src/store.ts';

export { bulkPut } from './bulk.ts';
export { createTable, tableSchema } from './schema.ts';

export interface DynamoDbStoreOptions {
  /** Owned by the caller, who destroys it; tests add middleware to it to inject faults. */
  client: DynamoDBClient;
  table: string;
}

export function createDynamoDbStore({ client, table }: DynamoDbStoreOptions): Store {
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
        const out = await client.send(new GetItemCommand({ TableName: table, Key: primaryKey(key), ConsistentRead: true }));
        return out.Item && fromItem<T>(out.Item);
      });
    },

    list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>> {
      return reading('list', () => listPage<T>(client, table, prefix, pageLimit(opts), opts?.cursor));
    },

    async commit(writes: Write[]): Promise<Record<string, Version>> {
      const prepared = prepareCommit(writes);
      open();
      const versions: Record<string, Version> = {};
      for (const { write } of prepared) if (isPut(write)) versions[write.key] = newVersion();
      await writeCommit(client, table, prepared, versions);
      return versions;
    },

    async close() {
      closed = true;
    },
  };
}
