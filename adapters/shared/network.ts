// Failures below the protocol: whether a request that died on the wire may still have reached the
// server. Shared by every adapter that talks to its store over a socket.

/** The connection was never made, so the server cannot have seen the request. */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** The connection broke or timed out mid-request: the server may have applied it. */
const MAYBE_SENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ERR_HTTP2_STREAM_ERROR', 'UND_ERR_SOCKET']);
const MAYBE_SENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);

/**
 * 'unsent' when the request certainly never reached the server, 'maybe-sent' when it may have,
 * undefined when the error is not a network failure at all.
 */
export function networkFailure(err: unknown, depth = 0): 'unsent' | 'maybe-sent' | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, name, message, cause } = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string' && UNSENT_CODES.has(code)) return 'unsent';
  if (typeof code === 'string' && MAYBE_SENT_CODES.has(code)) return 'maybe-sent';
  if (typeof name === 'string' && MAYBE_SENT_NAMES.has(name)) return 'maybe-sent';
  if (message === 'socket hang up') return 'maybe-sent';
  return depth < 5 && cause !== undefined ? networkFailure(cause, depth + 1) : undefined;
}
