// The event stream (events-routes.ts) in the OpenAPI document: Server-Sent Events whose `data` is one
// registry event as JSON, described by a zod schema that openapi.test.ts parses real events with.
import { z } from 'zod';
import { operatorErrors, type Operation } from './openapi-operations.ts';

export const registryEventShape = z.object({
  type: z.enum([
    'AGENT_ADDED', 'AGENT_REREGISTERED', 'AGENT_UNREACHABLE', 'AGENT_GONE', 'AGENT_REMOVED',
    'AGENT_DRAINING', 'AGENT_DRAINED', 'AGENT_DEACTIVATED', 'AGENT_REACTIVATED',
    'RECOVERY_STARTED', 'RECOVERY_HELD', 'RECOVERY_RELEASED', 'RECOVERY_DONE',
  ]),
  agentId: z.string().optional(),
  epoch: z.number().int().optional(),
  at: z.number().int().describe('milliseconds since the epoch'),
  by: z.string().optional(),
  reason: z.string().optional(),
});

export const EVENT_RESPONSES = { RegistryEvent: registryEventShape };

export const EVENT_OPERATIONS: Record<string, Operation> = {
  'GET /api/v1/events': {
    id: 'events',
    summary: 'Registry events (Server-Sent Events)',
    description:
      'Each event\'s `data` is a RegistryEvent as JSON and its `id` a place in the event log, kept in the store (so every runtime serves it) for an hour. ' +
      'Resume with `Last-Event-ID` (or `?lastEventId=`) after a disconnect; a resume older than the retention first gets an event `lost`. ' +
      'Comments keep the connection open and carry the position; the stream ends after a few minutes (or `timeoutSeconds`), and the client reconnects with the last id. ' +
      'A store failure ends it with an event `error`.',
    tag: 'operators',
    security: 'operator',
    parameters: [
      { name: 'Last-Event-ID', in: 'header', required: false, description: 'resume after this event', schema: { type: 'string' } },
      { name: 'lastEventId', in: 'query', required: false, description: 'as Last-Event-ID, for clients that cannot set headers', schema: { type: 'string' } },
      { name: 'since', in: 'query', required: false, description: 'start at this time (milliseconds since the epoch) rather than now', schema: { type: 'integer', minimum: 0 } },
      { name: 'timeoutSeconds', in: 'query', required: false, description: 'end the stream sooner', schema: { type: 'integer', minimum: 0 } },
    ],
    ok: {
      status: 200,
      description: 'the stream',
      content: { 'text/event-stream': { schema: { type: 'string', description: 'SSE; each `data:` is a RegistryEvent' } } },
    },
    errors: { 400: 'a Last-Event-ID, since or timeoutSeconds that is not one', ...operatorErrors },
  },
};
