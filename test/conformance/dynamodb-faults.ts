// Fault injection for the DynamoDB harness: a middleware on the real client, outside the SDK's retry
// loop, so the adapter itself must deal with the error, as it would with one the SDK gave up on.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { faultSwitch, type FaultInjector } from './faults.ts';

const WRITES = new Set(['PutItemCommand', 'DeleteItemCommand', 'UpdateItemCommand', 'TransactWriteItemsCommand', 'BatchWriteItemCommand']);

/** What node's HTTP stack throws when the connection drops: the request may or may not have arrived. */
const connectionReset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
/** What @smithy/node-http-handler throws when no response comes in time, here after DynamoDB applied it. */
const timedOut = () => Object.assign(new Error('injected: the request socket timed out after 1000 ms of inactivity'), { name: 'TimeoutError' });

/** The harness's faults: 'before' fails the next write unsent, 'after' once DynamoDB applied it. */
export function injectWriteFaults(client: DynamoDBClient): FaultInjector {
  const faults = faultSwitch();
  const fault = <A, R>(next: (args: A) => Promise<R>, context: { commandName?: string }) => async (args: A): Promise<R> => {
    if (!WRITES.has(context.commandName ?? '')) return next(args);
    const mode = faults.take();
    if (mode === undefined) return next(args);
    if (mode === 'before') throw connectionReset();
    await next(args);
    throw timedOut();
  };
  client.middlewareStack.addRelativeTo(fault, { name: 'injectWriteFaults', relation: 'before', toMiddleware: 'retryMiddleware' });
  return faults;
}
