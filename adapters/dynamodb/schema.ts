// The table layout, shared with infra/ (the CDK app builds the same table from `tableSchema`).
//
//   pk  (S, partition key)  "<segment>#<shard>": segment is the store key up to its first '/' (the
//                           whole key when it has none); shard is FNV-1a(UTF-8 of the full key) mod 16.
//                           One partition key takes about 1,000 writes/s, so the agents/ records are
//                           spread over 16 of them instead of sharing one.
//   sk  (S, sort key)       the store key itself, so a prefix is a begins_with on sk within a pk.
//   version (S)             the item's version (a UUID, new on every write).
//   value   (S)             the value as the JSON text prepareCommit made (64 KiB fits the 400 KB item).
//
// No secondary indexes: every read is strongly consistent. The segment and the shard count are part of
// the stored layout: changing either means rewriting the table.
import {
  CreateTableCommand, ResourceInUseException, waitUntilTableExists,
  type AttributeValue, type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Item, Version } from '../../src/store.ts';

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
} as const;

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

export const toItem = (key: string, version: Version, json: string): DynamoItem => ({
  ...primaryKey(key),
  [attr.version]: { S: version },
  [attr.value]: { S: json },
});

export const versionOf = (item: DynamoItem | undefined): Version | undefined => item?.[attr.version]?.S;

export function fromItem<T>(item: DynamoItem): Item<T> {
  return { key: item[attr.key]!.S!, value: JSON.parse(item[attr.value]!.S!) as T, version: item[attr.version]!.S! };
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
