// For entry files: a store (or its table) on a client built from AWS's own environment (region,
// credentials, AWS_ENDPOINT_URL_DYNAMODB), so that only this adapter imports the SDK.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Store } from '../../src/store.ts';
import { createDynamoDbStore } from './index.ts';
import { createTable } from './schema.ts';

export function openDynamoDbStore(table: string): Store {
  const client = new DynamoDBClient({});
  const store = createDynamoDbStore({ client, table });
  return {
    ...store,
    async close() {
      await store.close();
      client.destroy();
    },
  };
}

/** Creates the table (on-demand, the adapter's key schema) if it does not exist, and waits for it. */
export async function createTableFromEnv(table: string): Promise<void> {
  const client = new DynamoDBClient({});
  try {
    await createTable(client, table);
  } finally {
    client.destroy();
  }
}
