// For entry files: a store (or its table) on a client built from AWS's own environment (region,
// credentials, AWS_ENDPOINT_URL_DYNAMODB), so that only this adapter imports the SDK.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Store } from '../../src/store.ts';
import { requestTimeout } from './deadline.ts';
import { createDynamoDbStore } from './index.ts';
import { createTable } from './schema.ts';

export interface DynamoDbFromEnvOptions {
  /** How long one request may take, the SDK's retries included (default 2 s); see DynamoDbStoreOptions. */
  requestTimeoutMs?: number;
  /** Attempts the SDK makes per request, its own retries included (default 3). */
  maxAttempts?: number;
}

export function openDynamoDbStore(table: string, opts: DynamoDbFromEnvOptions = {}): Store {
  const requestTimeoutMs = requestTimeout(opts.requestTimeoutMs);
  // Each attempt gets half the request's time, so that the SDK can retry once on a fresh connection
  // (a keep-alive socket that died quietly) before the adapter gives up on the request; and no socket
  // waits the SDK's default five minutes, even outside the adapter's deadline.
  const attemptMs = Math.ceil(requestTimeoutMs / 2);
  const client = new DynamoDBClient({
    maxAttempts: opts.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: attemptMs, requestTimeout: attemptMs, throwOnRequestTimeout: true, socketTimeout: requestTimeoutMs },
  });
  const store = createDynamoDbStore({ client, table, requestTimeoutMs });
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
