// Deadlines on every request to DynamoDB. The SDK's own socket timeout is five minutes, so without one
// a connection that went dead (a frozen Lambda's keep-alive socket, a dropped NAT entry) would hold a
// heartbeat that long. Each request, one `client.send` with the SDK's own retries inside it, is
// abandoned after the request timeout: its HTTP request is aborted and it fails with a TimeoutError,
// which errors.ts reads as "may have reached DynamoDB". A store call that needs several requests (a
// list page over several partitions, a commit that replays to settle its outcome) has twice the
// request timeout in all, so that a commit whose first request timed out can still replay once.

/** The default request timeout: well under any HTTP request timeout (agents wait at least 5 s). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 2_000;

/** A store call's time, in request timeouts. */
const CALL_BUDGET = 2;

/** Runs `send` (given the signal to pass to `client.send`), failing it with a TimeoutError after `ms`. */
export async function withDeadline<R>(ms: number, send: (abortSignal: AbortSignal) => Promise<R>): Promise<R> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = Object.assign(new Error(`no answer from DynamoDB within ${Math.round(ms)} ms`), { name: 'TimeoutError' });
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    // The race also covers an HTTP handler that ignores the abort signal.
    return await Promise.race([send(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** One store call's requests, each within the request timeout and all within the call's budget. */
export interface Call {
  request<R>(send: (abortSignal: AbortSignal) => Promise<R>): Promise<R>;
  /** Milliseconds left of the call's budget. */
  left(): number;
}

export function startCall(requestTimeoutMs: number): Call {
  const end = performance.now() + CALL_BUDGET * requestTimeoutMs;
  const left = () => end - performance.now();
  return {
    left,
    request(send) {
      const ms = Math.min(requestTimeoutMs, left());
      // Never sent: the call has used up its time on earlier requests.
      if (ms <= 0) return Promise.reject(new Error(`the call ran out of its ${CALL_BUDGET * requestTimeoutMs} ms before its next request`));
      return withDeadline(ms, send);
    },
  };
}

/** A usable timeout option, or the default. */
export function requestTimeout(ms: number | undefined): number {
  if (ms === undefined) return DEFAULT_REQUEST_TIMEOUT_MS;
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`requestTimeoutMs must be a positive number of milliseconds, not ${ms}`);
  return ms;
}
