// Turns a commit into one DynamoDB request and settles its outcome.
//
// A single put or patch on an expected version is a PutItem or an UpdateItem (the heartbeat path);
// everything else (several writes, a delete, a check, an 'any' or 'absent' put) is one
// TransactWriteItems with a ClientRequestToken. Each can be sent again unchanged after a failure
// that may have applied it:
// - the transaction, because DynamoDB answers a replay of an applied token with success (10 minutes)
//   and applies nothing again;
// - the PutItem and the UpdateItem, because a failed condition returns the item
//   (ReturnValuesOnConditionCheckFailure) and our version there, new for this commit, proves the
//   first attempt applied. Its condition names a version that is never written again, so a replay
//   can never pass it a second time.
// An 'absent' put is never a PutItem: if it applied, lost its answer, and the key was deleted before
// the retry, the condition would hold again and the retry would bring back the deleted version.
// A condition that fails once a PutItem may already have applied proves nothing (someone may have
// overwritten our write), so that case is an unknown outcome, never a conflict.
// Each request has the request timeout and the replays stop when the commit's time is up
// (deadline.ts): what is not settled by then is an unknown outcome.
import { randomUUID } from 'node:crypto';
import {
  PutItemCommand, TransactWriteItemsCommand, UpdateItemCommand,
  type DynamoDBClient, type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { Call } from './deadline.ts';
import { classify, describe, type Failure } from './errors.ts';
import { attr, primaryKey, toItem, versionOf, type DynamoItem } from './schema.ts';
import {
  ConflictError, StoreUnavailableError, isDelete, isPatch, isPut,
  type PatchWrite, type PreparedWrite, type Version, type Write,
} from '../../src/store.ts';

interface WriteRequest {
  /** Sends the request once (the SDK may retry within); calls `maybeApplied` for any attempt that may have landed. */
  send(maybeApplied: () => void, abortSignal: AbortSignal): Promise<void>;
  /** The key of each write, in request order, to name a conflict. */
  keys: string[];
  /** A replay of an applied request succeeds, so a failed condition is a conflict even after an unknown attempt. */
  replaySafe: boolean;
  /** Whether the item a failed condition returned shows this very request applied. */
  shows(current: DynamoItem | undefined): boolean;
}

/** Replays after a failure that may have applied, or after a lost race between transactions. */
const REPLAYS = 5;
const backoff = (replay: number) => Math.random() * 100 * 2 ** replay;

/** Writes a prepared commit within `call`'s time; `versions` holds the new version of every put. */
export async function writeCommit(
  client: DynamoDBClient, table: string, prepared: PreparedWrite[], versions: Record<string, Version>, call: Call,
): Promise<void> {
  const [first] = prepared;
  const { expect } = first!.write;
  const single = prepared.length === 1 && expect !== 'any' && expect !== 'absent';
  const request = single && isPut(first!.write)
    ? putItem(client, table, first!, versions)
    : single && isPatch(first!.write)
      ? updateItem(client, table, first!.write, versions)
      : transaction(client, table, prepared, versions);
  await settle(request, call);
}

async function settle(request: WriteRequest, call: Call): Promise<void> {
  let maybeApplied = false;
  for (let replay = 0; ; replay++) {
    let failure: Failure;
    let error: unknown;
    try {
      await call.request((abortSignal) => request.send(() => {
        maybeApplied = true;
      }, abortSignal));
      return;
    } catch (err) {
      error = err;
      failure = classify(err);
    }
    if (failure.kind === 'conflict') {
      if (request.shows(failure.current)) return;
      const key = request.keys[failure.index] ?? request.keys[0]!;
      if (!maybeApplied || request.replaySafe) throw new ConflictError(key);
      throw new StoreUnavailableError(`a write to ${JSON.stringify(key)} may have applied before its condition failed on a retry`, {
        outcome: 'unknown', cause: error,
      });
    }
    if (failure.kind === 'transient' && failure.mayHaveApplied) maybeApplied = true;
    const pause = backoff(replay);
    const retry = failure.kind === 'transient' && (maybeApplied || failure.raced) && replay < REPLAYS && pause < call.left();
    if (!retry) {
      const outcome = maybeApplied ? 'unknown' : 'not-applied';
      throw new StoreUnavailableError(`DynamoDB commit failed (outcome ${outcome}): ${describe(error)}`, { outcome, cause: error });
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

function putItem(client: DynamoDBClient, table: string, { write, json }: PreparedWrite, versions: Record<string, Version>): WriteRequest {
  const version = versions[write.key]!;
  const input = {
    TableName: table,
    Item: toItem(write.key, version, json!),
    ...condition(write),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
  return singleItem(write.key, version, async (maybeApplied, abortSignal) => {
    const command = new PutItemCommand(input);
    command.middlewareStack.add(watchAttempts(maybeApplied), watchOptions);
    await client.send(command, { abortSignal });
  });
}

function updateItem(client: DynamoDBClient, table: string, write: PatchWrite, versions: Record<string, Version>): WriteRequest {
  const version = versions[write.key]!;
  const input = { TableName: table, Key: primaryKey(write.key), ...update(write, version), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const };
  return singleItem(write.key, version, async (maybeApplied, abortSignal) => {
    const command = new UpdateItemCommand(input);
    command.middlewareStack.add(watchAttempts(maybeApplied), watchOptions);
    await client.send(command, { abortSignal });
  });
}

/** A PutItem or UpdateItem: a failed condition returns the item, and only our new version there proves a lost attempt applied. */
const singleItem = (key: string, version: Version, send: WriteRequest['send']): WriteRequest => ({
  send,
  keys: [key],
  replaySafe: false,
  shows: (current) => versionOf(current) === version,
});

/** A patch as an update of its fields' attributes and the version, on the expected version. */
function update(write: PatchWrite, version: Version): { UpdateExpression: string } & Required<Condition> {
  const fields = Object.entries(write.patch);
  const names = Object.fromEntries(fields.map(([field], i) => [`#f${i}`, `${attr.field}${field}`]));
  const values = Object.fromEntries(fields.map(([, value], i) => [`:f${i}`, { S: JSON.stringify(value) }]));
  const cond = condition(write) as Required<Condition>;
  return {
    UpdateExpression: `SET #v = :version, ${fields.map((_, i) => `#f${i} = :f${i}`).join(', ')}`,
    ConditionExpression: cond.ConditionExpression,
    ExpressionAttributeNames: { ...cond.ExpressionAttributeNames, ...names },
    ExpressionAttributeValues: { ...cond.ExpressionAttributeValues, ...values, ':version': { S: version } },
  };
}

function transaction(client: DynamoDBClient, table: string, prepared: PreparedWrite[], versions: Record<string, Version>): WriteRequest {
  const input = {
    ClientRequestToken: randomUUID(),
    TransactItems: prepared.map(({ write, json }): TransactWriteItem => {
      if (isPut(write)) return { Put: { TableName: table, Item: toItem(write.key, versions[write.key]!, json!), ...condition(write) } };
      if (isDelete(write)) return { Delete: { TableName: table, Key: primaryKey(write.key), ...condition(write) } };
      if (isPatch(write)) return { Update: { TableName: table, Key: primaryKey(write.key), ...update(write, versions[write.key]!) } };
      return { ConditionCheck: { TableName: table, Key: primaryKey(write.key), ...(condition(write) as Condition & { ConditionExpression: string }) } };
    }),
  };
  return {
    async send(maybeApplied, abortSignal) {
      const command = new TransactWriteItemsCommand(input);
      command.middlewareStack.add(watchAttempts(maybeApplied), watchOptions);
      await client.send(command, { abortSignal });
    },
    keys: prepared.map(({ write }) => write.key),
    replaySafe: true,
    shows: () => false,
  };
}

interface Condition {
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: DynamoItem;
}

/** The expectation as a condition on the version attribute; 'any' has none. */
function condition(write: Write): Condition {
  if (write.expect === 'any') return {};
  const names = { '#v': attr.version };
  if (write.expect === 'absent') return { ConditionExpression: 'attribute_not_exists(#v)', ExpressionAttributeNames: names };
  return { ConditionExpression: '#v = :expected', ExpressionAttributeNames: names, ExpressionAttributeValues: { ':expected': { S: write.expect } } };
}

/**
 * Notes every attempt, the SDK's own retries included, that failed in a way that may have applied the
 * write: only then is a later failed condition no proof of a conflict. Added at finalizeRequest with low
 * priority, so inside the SDK's retry loop (retryMiddleware is finalizeRequest, high).
 */
const watchAttempts = (maybeApplied: () => void) =>
  <A, R>(next: (args: A) => Promise<R>) =>
  async (args: A): Promise<R> => {
    try {
      return await next(args);
    } catch (err) {
      const failure = classify(err);
      if (failure.kind === 'transient' && failure.mayHaveApplied) maybeApplied();
      throw err;
    }
  };

const watchOptions = { step: 'finalizeRequest', priority: 'low', name: 'registrarWatchAttempts' } as const;
