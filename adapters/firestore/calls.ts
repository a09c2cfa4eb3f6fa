// Deadlines for every Firestore call, and a count of the Commit RPCs each commit actually sent.
//
// The SDK retries on its own: Commit on ABORTED, RESOURCE_EXHAUSTED and UNAVAILABLE, BatchGetDocuments
// and RunQuery on DEADLINE_EXCEEDED, INTERNAL and UNAVAILABLE, for up to 600 s, and none of the
// public methods the store uses (WriteBatch#commit, DocumentReference#get, Query#get, getAll) takes
// call options. Two consequences for a store that must answer well within an HTTP request's time:
// - each call here runs against a deadline of its own (`withinDeadline`), a timer that rejects
//   with DEADLINE_EXCEEDED whatever the SDK is doing;
// - the SDK's own call options get the time left as their gRPC timeout (gax `timeout`) and no gax
//   retries, and an attempt the SDK itself starts after the deadline (it resends read streams) fails
//   at once with CANCELLED, which it never retries: nothing keeps working (or holds `terminate()`)
//   in the background for minutes;
// - Commit gets no automatic retry at all: every Commit RPC is one attempt, counted here, so the
//   store knows whether a refusal answers the only attempt it sent (then it is authoritative) or a
//   resend of one whose answer was lost (then it proves little).
// The SDK builds those call options in Firestore#createCallOptions (internal, stable in the pinned
// 9.x); where that hook cannot be installed, `counted` is false: the deadline timer still holds,
// and the store treats every refusal as one that may follow a lost, applied attempt.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Firestore } from '@google-cloud/firestore';

/** One store call in progress. */
export interface Call {
  /** When it must be over, on the Date.now() scale. */
  readonly deadline: number;
  /** Commit RPCs sent during the call (only where `counted`). */
  commits: number;
}

/** google.rpc.Code values */
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;

const current = new AsyncLocalStorage<Call>();
const installed = new WeakSet<Firestore>();

type CallOptions = { timeout?: number; retry?: unknown } & Record<string, unknown>;
type WithCallOptions = { createCallOptions?: (methodName: string, retryCodes?: number[]) => CallOptions };

/**
 * Gives the SDK's calls made inside `withinDeadline` that call's deadline, and sends Commit once.
 * Returns whether the hook is in place (then Commit RPCs are counted).
 */
export function hookCalls(firestore: Firestore): boolean {
  if (installed.has(firestore)) return true;
  const internals = firestore as unknown as WithCallOptions;
  const original = internals.createCallOptions;
  if (typeof original !== 'function') return false;
  internals.createCallOptions = function createCallOptions(this: unknown, methodName: string, retryCodes?: number[]): CallOptions {
    const options = original.call(this, methodName, retryCodes);
    const call = current.getStore();
    if (call === undefined || typeof options !== 'object' || options === null) return options;
    // Read by gax as each attempt starts (the SDK retries read streams with the same options).
    Object.defineProperty(options, 'timeout', {
      configurable: true,
      enumerable: true,
      get() {
        const left = call.deadline - Date.now();
        if (left <= 0) throw Object.assign(new Error(`${CANCELLED} CANCELLED: past the store's deadline`), { code: CANCELLED });
        return left;
      },
    });
    // No retries inside gax (it resends a read stream with backoff for as long as it likes): each
    // SDK attempt is one RPC that ends by `timeout`.
    options.retry = null;
    options.retryRequestOptions = { retries: 0, noResponseRetries: 0 }; // read streams retry through retry-request
    if (methodName === 'commit') call.commits++;
    return options;
  };
  installed.add(firestore);
  return true;
}

/** An error shaped like the SDK's, so that it is classified as an unanswered call. */
export const deadlineError = (ms: number): Error =>
  Object.assign(new Error(`${DEADLINE_EXCEEDED} DEADLINE_EXCEEDED: no answer within the store's deadline (${ms} ms)`), { code: DEADLINE_EXCEEDED });

/** Runs one SDK operation as part of `call`, rejecting with DEADLINE_EXCEEDED at the call's deadline. */
export async function withinDeadline<R>(call: Call, op: () => Promise<R>): Promise<R> {
  const remaining = call.deadline - Date.now();
  if (remaining <= 0) throw deadlineError(0);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadlineError(Math.round(remaining))), remaining);
  });
  try {
    // The operation may settle after the deadline; race() has handled its result by then.
    return await Promise.race([current.run(call, op), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps count of SDK operations still running, including those a deadline gave up on. */
export function operations() {
  const running = new Set<Promise<unknown>>();
  return {
    /** Runs `op` within the call's deadline, tracking it until it settles. */
    run<R>(call: Call, op: () => Promise<R>): Promise<R> {
      return withinDeadline(call, () => {
        const promise = op();
        running.add(promise);
        const done = () => running.delete(promise);
        promise.then(done, done);
        return promise;
      });
    },
    /** Settles when every operation has ended, or after `ms`. */
    async ended(ms: number): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...running]), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
      clearTimeout(timer);
    },
  };
}
