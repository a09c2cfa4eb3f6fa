// A request id per request: the caller's `x-request-id` when it is a sane token, else a new one;
// answered in the `x-request-id` header and present in every log line the request writes.
import type { MiddlewareHandler } from 'hono';
import { requestContext } from '../request-context.ts';
import { randomId } from '../secrets.ts';

export const REQUEST_ID_HEADER = 'x-request-id';
/** Letters, digits and a few separators, up to 128: safe in a header and a log line, as proxies send them. */
const SANE = /^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$/;

export const requestId = (newId: () => string = randomId): MiddlewareHandler => (c, next) => {
  const presented = c.req.header(REQUEST_ID_HEADER);
  const id = presented !== undefined && SANE.test(presented) ? presented : newId();
  c.header(REQUEST_ID_HEADER, id);
  return requestContext.run({ requestId: id }, next);
};
