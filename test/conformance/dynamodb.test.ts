import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { bulkPut, createDynamoDbStore, createTable } from '../../adapters/dynamodb/index.ts';
import { injectWriteFaults } from './dynamodb-faults.ts';
import { testAdapter, type StoreHandle } from './index.ts';

const service = inject('dynamodb');
/** DynamoDB Local is a Java process on the same loaded machine; the adapter's own deadline is tested in adapters/dynamodb. */
const EMULATOR_TIMEOUT_MS = 10_000;
const tables = new WeakMap<StoreHandle, { client: DynamoDBClient; table: string }>();
let opened = 0;

testAdapter('dynamodb', {
  skip: 'skip' in service ? service.skip : undefined,
  durable: true,
  // A dropped connection may or may not have delivered the write: the adapter replays it (same token).
  faultInjection: { unsent: 'resolved' },
  async open() {
    if (!('endpoint' in service)) throw new Error('DynamoDB Local is not running');
    const client = new DynamoDBClient({
      endpoint: service.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const table = `registrar-${++opened}-${randomUUID()}`;
    await createTable(client, table);
    const handle: StoreHandle = {
      store: createDynamoDbStore({ client, table, requestTimeoutMs: EMULATOR_TIMEOUT_MS }),
      reopen: async () => createDynamoDbStore({ client, table, requestTimeoutMs: EMULATOR_TIMEOUT_MS }),
      faults: injectWriteFaults(client),
      async dispose() {
        await client.send(new DeleteTableCommand({ TableName: table }));
        client.destroy();
      },
    };
    tables.set(handle, { client, table });
    return handle;
  },
  async bulkLoad(handle, items) {
    const { client, table } = tables.get(handle)!;
    await bulkPut(client, table, items, { parallel: 8 });
  },
});
