// Calls to etcd: each with a deadline, retried only where a retry cannot change the outcome, and
// failures classified by what they tell about the request.
//
// The etcd3 client's own retries are turned off (client.ts): it would resend a txn whose first
// attempt may have been applied, and the resent compare would then fail: a false conflict.
import { ClientClosedError, type IRangeRequest, type IRangeResponse, type ITxnRequest, type ITxnResponse } from 'etcd3';
import { StoreUnavailableError } from '../../src/store.ts';

/** The part of etcd3's KV client the adapter uses (tests wrap it to inject faults). */
export interface Kv {
  range(req: IRangeRequest, options?: { deadline?: Date }): Promise<IRangeResponse>;
  txn(req: ITxnRequest, options?: { deadline?: Date }): Promise<ITxnResponse>;
}

/**
 * The request certainly never reached a server: grpc-js had no connection to send it on (it fails
 * such a call at once instead of queueing it), or the client was closed.
 */
export function unsent(error: unknown): boolean {
  if (error instanceof ClientClosedError) return true;
  const message = error instanceof Error ? error.message : '';
  return message.includes('No connection established') && !message.includes('etcdserver:');
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it succeeds, fails with an error `retryable` refuses, or the deadline passes.
 * Each attempt gets what is left of the deadline. The client picks a random member per call, so a
 * retry after a dead member's refusal usually lands on a live one.
 */
export async function withRetries<T>(
  timeoutMs: number,
  attempt: (deadline: Date) => Promise<T>,
  retryable: (error: unknown) => boolean,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let n = 0; ; n++) {
    try {
      return await attempt(new Date(deadline));
    } catch (error) {
      const wait = Math.min(10 * 2 ** n, 200) * Math.random();
      if (!retryable(error) || Date.now() + wait >= deadline) throw error;
      await pause(wait);
    }
  }
}

/** A read: any failure may be retried (reads change nothing); after the deadline, unavailable. */
export async function read<T>(what: string, timeoutMs: number, attempt: (deadline: Date) => Promise<T>): Promise<T> {
  try {
    return await withRetries(timeoutMs, attempt, (error) => !(error instanceof ClientClosedError));
  } catch (error) {
    throw unavailable(what, error, 'not-applied');
  }
}

export function unavailable(what: string, error: unknown, outcome: 'not-applied' | 'unknown'): Error {
  if (error instanceof StoreUnavailableError) return error;
  const why = error instanceof Error ? error.message : String(error);
  const space = why.includes('database space exceeded')
    ? ' (the etcd cluster is out of space: compact, defragment and disarm the NOSPACE alarm; see the README on quota-backend-bytes)'
    : '';
  return new StoreUnavailableError(`etcd ${what} failed: ${why}${space}${outcome === 'unknown' ? '; it may or may not have been applied' : ''}`, { outcome, cause: error });
}
