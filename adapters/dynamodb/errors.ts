// The one place that reads DynamoDB's errors. Conflicts are recognised by reason, never by exception
// type alone: a cancelled transaction is a conflict only where a write's condition failed.
import { networkFailure } from '../shared/network.ts';
import type { DynamoItem } from './schema.ts';

export type Failure =
  /** The condition of the request's `index`-th write failed; `current` is the item then (ALL_OLD). */
  | { kind: 'conflict'; index: number; current?: DynamoItem }
  /**
   * Worth retrying: `mayHaveApplied` when the write may have taken effect anyway; `raced` when it lost
   * to a concurrent transaction on the same item, which the SDK does not retry.
   */
  | { kind: 'transient'; mayHaveApplied: boolean; raced?: boolean }
  /** Refused for good (a missing table, bad credentials, a malformed request): nothing applied. */
  | { kind: 'refused' };

const THROTTLED = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'LimitExceededException']);
/** A single-item write that met a transaction in progress on the same item. */
const RACED = new Set(['TransactionConflictException', 'ReplicatedWriteConflictException']);
/** Cancellation reasons that say "try again", not "the request is wrong". */
const RETRYABLE_CANCELLATIONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded', 'None']);

interface SdkError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  Item?: DynamoItem;
  CancellationReasons?: { Code?: string; Item?: DynamoItem }[];
}

export function classify(err: unknown): Failure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError;
  if (e.name === 'ConditionalCheckFailedException') return { kind: 'conflict', index: 0, current: e.Item };
  if (e.name === 'TransactionCanceledException') {
    const reasons = e.CancellationReasons ?? [];
    const index = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
    if (index !== -1) return { kind: 'conflict', index, current: reasons[index]!.Item };
    // A cancelled transaction applied nothing.
    const retryable = reasons.every((r) => r.Code === undefined || RETRYABLE_CANCELLATIONS.has(r.Code));
    const raced = reasons.some((r) => r.Code === 'TransactionConflict');
    return retryable ? { kind: 'transient', mayHaveApplied: false, raced } : { kind: 'refused' };
  }
  if (e.name && THROTTLED.has(e.name)) return { kind: 'transient', mayHaveApplied: false };
  if (e.name && RACED.has(e.name)) return { kind: 'transient', mayHaveApplied: false, raced: true };
  // The first request with this ClientRequestToken is still running.
  if (e.name === 'TransactionInProgressException') return { kind: 'transient', mayHaveApplied: true };
  const status = e.$metadata?.httpStatusCode;
  // DynamoDB may have applied a write that answered 5xx (InternalServerError, ServiceUnavailable).
  if (e.$fault === 'server' || (status !== undefined && status >= 500)) return { kind: 'transient', mayHaveApplied: true };
  const network = networkFailure(err);
  if (network) return { kind: 'transient', mayHaveApplied: network === 'maybe-sent' };
  if (status !== undefined && status >= 400) return { kind: 'refused' };
  // Anything else (a response that could not be read, say) proves nothing about the write.
  return { kind: 'transient', mayHaveApplied: true };
}

export const describe = (err: unknown): string =>
  err instanceof Error ? `${err.name}: ${err.message}` : String(err);
