// Loading many records at once (restores, tests): BatchWriteItem, 25 items a request, several requests
// in flight. Unconditional and not atomic, so never part of a commit; each record still gets a version.
// Each request has the store's request timeout (deadline.ts) unless the caller gives another.
import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { newVersion } from '../shared/version.ts';
import { toItem } from './schema.ts';
import { describe } from './errors.ts';
import { requestTimeout, withDeadline } from './deadline.ts';
import { StoreUnavailableError, prepareCommit } from '../../src/store.ts';

const BATCH = 25; // BatchWriteItem's limit
const PASSES = 10; // rounds of retrying UnprocessedItems before giving up

/** Puts every record, overwriting whatever is there; values are checked against the store's limits first. */
export async function bulkPut(
  client: DynamoDBClient, table: string, records: { key: string; value: unknown }[], opts: { parallel?: number; requestTimeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = requestTimeout(opts.requestTimeoutMs);
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < records.length; i += BATCH) {
    batches.push(records.slice(i, i + BATCH).map(({ key, value }) => {
      const json = prepareCommit([{ key, expect: 'any', put: value }])[0]!.json!; // checks the key and size
      return { PutRequest: { Item: toItem(key, newVersion(), json) } };
    }));
  }
  let next = 0;
  const worker = async () => {
    while (next < batches.length) await writeBatch(client, table, batches[next++]!, timeoutMs);
  };
  await Promise.all(Array.from({ length: opts.parallel ?? 8 }, worker));
}

async function writeBatch(client: DynamoDBClient, table: string, requests: WriteRequest[], timeoutMs: number): Promise<void> {
  let pending = requests;
  for (let pass = 0; pending.length > 0; pass++) {
    if (pass === PASSES) throw new StoreUnavailableError(`bulk load: ${pending.length} items still unprocessed after ${PASSES} passes`);
    if (pass > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** pass));
    try {
      const command = new BatchWriteItemCommand({ RequestItems: { [table]: pending } });
      const out = await withDeadline(timeoutMs, (abortSignal) => client.send(command, { abortSignal }));
      pending = out.UnprocessedItems?.[table] ?? [];
    } catch (err) {
      throw new StoreUnavailableError(`bulk load failed: ${describe(err)}`, { outcome: 'unknown', cause: err });
    }
  }
}
