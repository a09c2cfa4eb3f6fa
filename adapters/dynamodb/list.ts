// Listing without secondary indexes. A prefix with a '/' lies within one key segment, so its pages walk
// that segment's partitions one after another (Query, begins_with on the sort key); the cursor names the
// partition and the last key read. A prefix without '/' ('' or 'agent') may span many segments, so it is
// a consistent Scan filtered by begins_with, whose cursor is DynamoDB's own position. All the requests
// of one page share one call's time (deadline.ts).
import { QueryCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { decodeCursor, encodeCursor, isCursorKey } from '../shared/cursor.ts';
import type { Call } from './deadline.ts';
import { attr, fromItem, partitionName, primaryKey, segmentOf, tableSchema, type DynamoItem } from './schema.ts';
import { InvalidCursorError, STORE_LIMITS, type Item, type Page } from '../../src/store.ts';

/** Where a segment listing resumes: this partition, after this key (from its start when absent). */
interface ShardPosition { shard: number; after?: string }
/** Where a table scan resumes: after this primary key. */
interface ScanPosition { scanAfter: { pk: string; sk: string } }

/** Scan requests one list call may make before it returns a short page (bounded latency). */
const SCAN_REQUESTS = 10;

export function listPage<T>(client: DynamoDBClient, call: Call, table: string, prefix: string, limit: number, cursor?: string): Promise<Page<T>> {
  if (prefix.includes('/')) {
    const from = cursor === undefined ? { shard: 0 } : decodeCursor(cursor, isShardPosition);
    if (from.after !== undefined && !from.after.startsWith(prefix)) throw new InvalidCursorError('list cursor belongs to another prefix');
    return listSegment(client, call, table, prefix, limit, from);
  }
  const from = cursor === undefined ? undefined : decodeCursor(cursor, isScanPosition).scanAfter;
  return scanTable(client, call, table, prefix, limit, from && { [attr.partition]: { S: from.pk }, [attr.key]: { S: from.sk } });
}

async function listSegment<T>(client: DynamoDBClient, call: Call, table: string, prefix: string, limit: number, from: ShardPosition): Promise<Page<T>> {
  const segment = segmentOf(prefix);
  const items: Item<T>[] = [];
  let { shard, after } = from;
  while (items.length < limit) {
    const partition = partitionName(segment, shard);
    const out = await call.request((abortSignal) => client.send(new QueryCommand({
      TableName: table,
      ConsistentRead: true,
      Limit: limit - items.length,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': attr.partition, '#sk': attr.key },
      ExpressionAttributeValues: { ':pk': { S: partition }, ':prefix': { S: prefix } },
      ExclusiveStartKey: after === undefined ? undefined : { [attr.partition]: { S: partition }, [attr.key]: { S: after } },
    }), { abortSignal }));
    for (const item of out.Items ?? []) items.push(fromItem<T>(item));
    after = out.LastEvaluatedKey?.[attr.key]?.S;
    if (after !== undefined) continue;
    shard++;
    if (shard === tableSchema.shards) return { items };
  }
  return { items, cursor: encodeCursor(after === undefined ? { shard } : { shard, after }) };
}

async function scanTable<T>(client: DynamoDBClient, call: Call, table: string, prefix: string, limit: number, from?: DynamoItem): Promise<Page<T>> {
  const filter = prefix === ''
    ? {}
    : { FilterExpression: 'begins_with(#sk, :prefix)', ExpressionAttributeNames: { '#sk': attr.key }, ExpressionAttributeValues: { ':prefix': { S: prefix } } };
  const items: Item<T>[] = [];
  let start = from;
  for (let request = 0; request < SCAN_REQUESTS; request++) {
    const wanted = limit - items.length;
    const out = await call.request((abortSignal) => client.send(new ScanCommand({
      TableName: table,
      ConsistentRead: true,
      // Limit counts items read, not items matched: read more when a filter may drop most.
      Limit: prefix === '' ? wanted : Math.min(STORE_LIMITS.listLimit, Math.max(wanted, 100)),
      ExclusiveStartKey: start,
      ...filter,
    }), { abortSignal }));
    const found = out.Items ?? [];
    items.push(...found.slice(0, wanted).map((item) => fromItem<T>(item)));
    // More matches than the page holds: resume after the last one taken.
    if (found.length > wanted) return { items, cursor: scanCursor(found[wanted - 1]!) };
    start = out.LastEvaluatedKey;
    if (start === undefined) return { items };
    if (items.length === limit) break;
  }
  return { items, cursor: scanCursor(start!) };
}

const scanCursor = (key: DynamoItem): string =>
  encodeCursor({ scanAfter: { pk: key[attr.partition]!.S!, sk: key[attr.key]!.S! } } satisfies ScanPosition);

// A position's key is a store key (at most the key limit), and a scan position's partition is the one
// that key lives in: anything else was not made here, and DynamoDB would refuse some of it.
const isShardPosition = (p: unknown): p is ShardPosition => {
  const { shard, after } = (p ?? {}) as { shard?: unknown; after?: unknown };
  return Number.isInteger(shard) && (shard as number) >= 0 && (shard as number) < tableSchema.shards
    && (after === undefined || isCursorKey(after));
};

const isScanPosition = (p: unknown): p is ScanPosition => {
  const at = (p as { scanAfter?: { pk?: unknown; sk?: unknown } } | null)?.scanAfter;
  return isCursorKey(at?.sk) && at.sk !== '' && at.pk === primaryKey(at.sk)[attr.partition]!.S;
};
