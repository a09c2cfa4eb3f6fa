// The table layout, shared with infra/ (the CDK app builds the same table from `tableSchema`).
//
//   pk  (S, partition key)  "<segment>#<shard>": segment is the store key up to its first '/' (the
//                           whole key when it has none); shard is FNV-1a(UTF-8 of the full key) mod 16.
//                           One partition key takes about 1,000 writes/s, so the agents/ records are
//                           spread over 16 of them instead of sharing one.
//   sk  (S, sort key)       the store key itself, so a prefix is a begins_with on sk within a pk.
//   version (S)             the item's version (a UUID, new on every write).
//   value   (S)             the value as the JSON text prepareCommit made (64 KiB fits the 400 KB item),
//   or deflated (B)         that text deflated (raw DEFLATE), where that saves a write unit. DynamoDB
//                           bills a write by each started KB of the item: an agent record with ten
//                           events is about 1.5 KB of JSON, two write units for every lastSeenAt write,
//                           and about 600 bytes deflated, one. Items of one KB or less stay text:
//                           deflating costs CPU on every write and read (a scan of 100,000 deflated
//                           records took about a second more), which only a saved unit pays for.
//   field:<name> (S)        a field a patch set in place (its JSON), over the value's own: an
//                           UpdateItem, so a lastSeenAt write reads nothing first. A put replaces
//                           the whole item, and with it these.
//
// No secondary indexes: every read is strongly consistent. The segment and the shard count are part of
// the stored layout: changing either means rewriting the table.
import {
  CreateTableCommand, ResourceInUseException, waitUntilTableExists,
  type AttributeValue, type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { byteLength, type Item, type Version } from '../../src/store.ts';

export const tableSchema = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  billingMode: 'PAY_PER_REQUEST',
  /** Partition keys per key segment. */
  shards: 16,
} as const;

/** Attribute names, used only through expression placeholders (#v, #sk, ...). */
export const attr = {
  partition: tableSchema.partitionKey.name,
  key: tableSchema.sortKey.name,
  version: 'version',
  value: 'value',
  deflated: 'deflated',
  /** The prefix of a patched field's attribute. */
  field: 'field:',
} as const;

/** DynamoDB bills a write by each started KB of the item. */
export const WRITE_UNIT_BYTES = 1024;

export type DynamoItem = Record<string, AttributeValue>;

/** The key up to its first '/', or all of it. */
export const segmentOf = (key: string): string => {
  const slash = key.indexOf('/');
  return slash === -1 ? key : key.slice(0, slash);
};

const utf8 = new TextEncoder();

/** FNV-1a (32 bit) over the key's UTF-8 bytes, mod the shard count: stable across runtimes. */
export function shardOf(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(key)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % tableSchema.shards;
}

export const partitionName = (segment: string, shard: number): string => `${segment}#${shard}`;

/** The primary key of a store key's item. */
export const primaryKey = (key: string): DynamoItem => ({
  [attr.partition]: { S: partitionName(segmentOf(key), shardOf(key)) },
  [attr.key]: { S: key },
});

const writeUnits = (bytes: number) => Math.ceil(bytes / WRITE_UNIT_BYTES);

export function toItem(key: string, version: Version, json: string): DynamoItem {
  const item: DynamoItem = { ...primaryKey(key), [attr.version]: { S: version } };
  const text = { ...item, [attr.value]: { S: json } };
  const textBytes = itemBytes(text);
  if (textBytes <= WRITE_UNIT_BYTES) return text;
  const deflated = { ...item, [attr.deflated]: { B: deflateRawSync(json) } };
  return writeUnits(itemBytes(deflated)) < writeUnits(textBytes) ? deflated : text;
}

export const versionOf = (item: DynamoItem | undefined): Version | undefined => item?.[attr.version]?.S;

/** The item's value as JSON text, whichever way it was kept (plain items written before deflating read as they are). */
const jsonOf = (item: DynamoItem): string => {
  const deflated = item[attr.deflated]?.B;
  return deflated ? inflateRawSync(deflated).toString('utf8') : item[attr.value]!.S!;
};

export function fromItem<T>(item: DynamoItem): Item<T> {
  const value = JSON.parse(jsonOf(item)) as T;
  const fields = Object.keys(item).filter((name) => name.startsWith(attr.field));
  if (fields.length > 0 && typeof value === 'object' && value !== null) {
    for (const name of fields) (value as Record<string, unknown>)[name.slice(attr.field.length)] = JSON.parse(item[name]!.S!);
  }
  return { key: item[attr.key]!.S!, value, version: item[attr.version]!.S! };
}

/** An item's size as DynamoDB bills it: each attribute's name and value, in bytes (strings as UTF-8). */
export function itemBytes(item: DynamoItem): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += byteLength(name) + (value.S !== undefined ? byteLength(value.S) : (value.B?.length ?? 0));
  return bytes;
}

/** Creates the table (on-demand billing) for local and development use; fine if it already exists. */
export async function createTable(client: DynamoDBClient, table: string): Promise<void> {
  const { partitionKey, sortKey } = tableSchema;
  try {
    await client.send(new CreateTableCommand({
      TableName: table,
      BillingMode: tableSchema.billingMode,
      AttributeDefinitions: [
        { AttributeName: partitionKey.name, AttributeType: partitionKey.type },
        { AttributeName: sortKey.name, AttributeType: sortKey.type },
      ],
      KeySchema: [
        { AttributeName: partitionKey.name, KeyType: 'HASH' },
        { AttributeName: sortKey.name, KeyType: 'RANGE' },
      ],
    }));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1 }, { TableName: table });
}
