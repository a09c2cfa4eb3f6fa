// The request a log line belongs to: the master's request-id middleware runs each request inside
// `requestContext`, and the entries' log functions add its id to every line written meanwhile, the
// registrar's included, without passing it through every call. Node, Lambda, and Workers with
// nodejs_compat all have AsyncLocalStorage.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * The Node flag `npm start` and the Lambda function run with: AsyncLocalStorage without async hooks
 * (Node 24's default), ~14% more heartbeats/s on the Node server, the same contexts.
 */
export const ASYNC_CONTEXT_FRAME = '--experimental-async-context-frame';

/** The fields a log line adds for the request it is written in, if any. */
export const requestFields = (): { requestId?: string } => {
  const requestId = requestContext.getStore()?.requestId;
  return requestId === undefined ? {} : { requestId };
};
