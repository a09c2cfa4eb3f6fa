// One place turns failures into responses: `{ error, message }` with the documented status.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Refusal, RefusalCode } from '../registry/index.ts';
import { NoMasterError, RefusedError, type Log } from '../registrar.ts';
import { InvalidCursorError, StoreLimitError, StoreUnavailableError } from '../store.ts';

/** A caller's fault, with the code clients branch on. */
export class ApiError extends HTTPException {
  readonly code: string;
  readonly extra: Record<string, unknown>;
  constructor(status: ContentfulStatusCode, code: string, message: string, extra: Record<string, unknown> = {}) {
    super(status, { message });
    this.code = code;
    this.extra = extra;
  }
}

const REFUSALS: Record<RefusalCode, [ContentfulStatusCode, string]> = {
  gone: [410, 'gone'],
  reregister: [409, 'reregister'],
  'unknown-agent': [404, 'not_found'],
  'unknown-framework': [404, 'not_found'],
  unauthorized: [401, 'unauthorized'],
  'secret-mismatch': [403, 'forbidden'],
  'machine-in-use': [409, 'machine-in-use'],
  'registry-full': [429, 'registry-full'],
  'not-held': [409, 'not_held'],
  conflict: [409, 'conflict'],
  invalid: [400, 'bad_request'],
};

/** A refusal's status and body, wherever it is answered (the API, or an edge in front of it). */
export function refusalAnswer({ refused, message, epoch }: Refusal): [ContentfulStatusCode, { error: string; message: string; epoch?: number }] {
  const [status, error] = REFUSALS[refused];
  return [status, { error, message, ...(epoch === undefined ? {} : { epoch }) }];
}

export function errorHandler(log: Log, retryAfterSeconds: number) {
  return (err: Error, c: Context) => {
    const body = (status: ContentfulStatusCode, error: string, message: string, extra: Record<string, unknown> = {}) =>
      c.json({ error, message, ...extra }, status);
    if (err instanceof ApiError) return body(err.status as ContentfulStatusCode, err.code, err.message, err.extra);
    if (err instanceof RefusedError) {
      const { retryAfterSeconds } = err.refusal;
      if (retryAfterSeconds !== undefined) c.header('Retry-After', String(retryAfterSeconds));
      const [status, answer] = refusalAnswer(err.refusal);
      return c.json(answer, status);
    }
    // A cursor the store did not make (garbage, or naming a key past the key limit): the caller's fault.
    if (err instanceof InvalidCursorError) return body(400, 'bad_request', `cursor: ${err.message}`);
    if (err instanceof StoreLimitError) return body(400, 'bad_request', err.message);
    if (err instanceof NoMasterError || err instanceof StoreUnavailableError) {
      c.header('Retry-After', String(retryAfterSeconds));
      if (err instanceof StoreUnavailableError) log('store unavailable', { error: err.message, outcome: err.outcome, path: c.req.path });
      return body(503, 'unavailable', err.message);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return body(status, status === 413 ? 'payload_too_large' : 'bad_request', err.message || 'bad request');
    }
    log('internal error', { error: String(err?.stack ?? err), path: c.req.path });
    return body(500, 'internal', 'internal error');
  };
}
