// Every route of the master, as the OpenAPI document describes it (DESIGN.md, "HTTP API"): who may
// call it, what it takes, and each status it answers. openapi.ts turns this table into the document.
import type { z } from 'zod';
import { METRICS_DESCRIPTION } from './metrics.ts';
import { listQuery } from './schemas.ts';

export type Security = 'join' | 'agent' | 'framework' | 'frameworkSecret' | 'operator' | 'session' | 'public' | 'public-or-operator';

/** The error statuses of DESIGN.md ("Status codes, everywhere"), each a `{ error, message }` body. */
export const ERROR_STATUSES = {
  400: 'bad_request: a malformed or invalid body or query; the message names the field',
  401: 'unauthorized: missing or invalid credentials',
  403: 'forbidden: a valid credential of the wrong kind',
  404: 'not_found: no such agent (or route)',
  409: 'a conflict with the registry (the `error` code says which)',
  406: 'not_acceptable: the answer can only be JSON',
  410: 'gone: the agent was marked gone; it must shut down',
  413: 'payload_too_large: bodies are limited to 32 KiB',
  415: 'unsupported_media_type: the body can only be JSON',
  429: 'too many requests: retry after Retry-After seconds',
  503: 'unavailable: the store is unavailable, the outcome is unknown, or there is no master record yet; retry after Retry-After seconds',
} as const;

export type ErrorStatus = keyof typeof ERROR_STATUSES;

export interface Operation {
  id: string;
  summary: string;
  description?: string;
  tag: 'agents' | 'frameworks' | 'operators' | 'mesos' | 'dashboard' | 'master';
  security: Security;
  query?: z.ZodObject;
  /** Parameters no zod schema describes (headers, a stream's options), as OpenAPI parameter objects. */
  parameters?: Record<string, unknown>[];
  queryDescriptions?: Record<string, string>;
  /** A JSON body, by its component name. */
  body?: { schema: string; optional?: boolean };
  /** A form body (application/x-www-form-urlencoded), as JSON Schema. */
  form?: Record<string, unknown>;
  ok: { status: number; description: string; schema?: string; content?: Record<string, unknown> };
  /** When it may answer 303 instead, and why. */
  redirect?: string;
  /** Each status it may answer: '' for the generic description, or what it means here. */
  errors: Partial<Record<ErrorStatus, string>>;
  /** Errors as HTML pages (the dashboard) rather than `{ error, message }`. */
  errorContent?: 'html';
}

const agentErrors = { 401: 'a missing credential, or a secret that is not this agent\'s', 403: 'a join or operator token instead of the agent secret', 404: 'no such agent: register afresh' } as const;
export const operatorErrors = { 401: '', 403: 'a join token or agent secret instead of an operator token', 503: '' } as const;
const operatorAction = (id: string, summary: string, description: string, gone: string): Operation => ({
  id,
  summary,
  description,
  tag: 'operators',
  security: 'operator',
  body: { schema: 'ActionRequest', optional: true },
  ok: { status: 200, description: 'the updated record', schema: 'Agent' },
  errors: { 400: '', ...operatorErrors, 404: 'no such agent', ...(gone ? { 410: gone } : {}), 413: '' },
});

export const OPERATIONS: Record<string, Operation> = {
  'POST /api/v1/agents': {
    id: 'registerAgent',
    summary: 'Register an agent',
    description:
      'Admits an agent with a fresh id and secret, or with the `agentId` (a UUID) and `secret` it chose and saved first: a retry with the same pair returns the same 201. ' +
      'A `machineId` naming an older, live record is refused unless `previousSecret` is that record\'s secret.',
    tag: 'agents',
    security: 'join',
    body: { schema: 'RegisterRequest' },
    ok: { status: 201, description: 'admitted', schema: 'Registered' },
    errors: {
      400: '',
      401: 'a missing or invalid join token',
      403: 'an operator token instead of a join token, or a chosen agentId registered with another secret',
      409: '`machine-in-use`: the machineId belongs to a live agent; Retry-After says when it would be overdue',
      410: 'the chosen agentId was pruned after being gone: register without an id',
      413: '',
      429: '`rate_limited` (registrations per join-token label) or `registry-full`',
      503: '',
    },
  },
  'POST /api/v1/agents/{agentId}/reregister': {
    id: 'reregisterAgent',
    summary: 'Re-register an agent',
    description: 'After a `409 reregister` (a new master epoch, or after being marked unreachable), with the agent secret and its current info.',
    tag: 'agents',
    security: 'agent',
    body: { schema: 'ReregisterRequest' },
    ok: { status: 200, description: 'admitted in the current epoch', schema: 'Reregistered' },
    errors: { 400: '', ...agentErrors, 409: '`machine-in-use`: the machineId belongs to another, live agent', 410: '', 413: '', 503: '' },
  },
  'POST /api/v1/agents/{agentId}/heartbeat': {
    id: 'heartbeat',
    summary: 'Heartbeat',
    description: "Every `heartbeatIntervalSeconds`. The answer carries the operator's instructions for this agent (drain, deactivated) and may carry a ticket for the next heartbeat.",
    tag: 'agents',
    security: 'agent',
    body: { schema: 'HeartbeatRequest' },
    ok: { status: 200, description: 'alive', schema: 'Heartbeat' },
    errors: { 400: '', ...agentErrors, 409: '`reregister` with the `epoch` to re-register in', 410: '', 413: '', 503: '' },
  },
  'DELETE /api/v1/agents/{agentId}': {
    id: 'leave',
    summary: 'Leave',
    description: 'The agent leaves on purpose; its record is removed.',
    tag: 'agents',
    security: 'agent',
    ok: { status: 204, description: 'removed' },
    errors: { ...agentErrors, 410: '', 503: '' },
  },
  'GET /api/v1/agents': {
    id: 'listAgents',
    summary: 'List agents',
    description: 'A page of agents matching every filter given. A page may be short or empty and still carry a cursor: stop only when none comes back.',
    tag: 'operators',
    security: 'operator',
    query: listQuery,
    queryDescriptions: {
      hostname: 'exact hostname',
      machineId: 'exact machine id',
      idPrefix: 'the start of an agent id',
      attribute: '`key:value`; repeat for several, all of which must match',
      lastSeenBefore: 'milliseconds since the epoch, or an ISO 8601 date',
      drain: '`none` for agents not draining',
      pending: 'agents not yet re-registered in an open or held re-registration window',
      cursor: 'from the previous page',
      limit: 'records to scan for this page (at most 1000)',
    },
    ok: { status: 200, description: 'a page', schema: 'AgentPage' },
    errors: { 400: 'an invalid filter or cursor', ...operatorErrors },
  },
  'GET /api/v1/agents/{agentId}': {
    id: 'getAgent',
    summary: 'Get an agent',
    tag: 'operators',
    security: 'operator',
    ok: { status: 200, description: 'the record (never its secret hash)', schema: 'Agent' },
    errors: { ...operatorErrors, 404: 'no such agent' },
  },
  'POST /api/v1/agents/{agentId}/gone': operatorAction('markGone', 'Mark an agent gone', 'Final: its heartbeats and re-registrations get 410 from now on. Idempotent.', ''),
  'POST /api/v1/agents/{agentId}/deactivate': operatorAction('deactivate', 'Deactivate an agent', 'No new work for it; kept across failover. Its heartbeats say `deactivated: true`.', 'the agent is gone'),
  'POST /api/v1/agents/{agentId}/reactivate': operatorAction('reactivate', 'Reactivate an agent', 'Clears both drain and deactivation.', 'the agent is gone'),
  'POST /api/v1/agents/{agentId}/drain': {
    ...operatorAction('drain', 'Drain an agent', 'The agent stops its work within `maxGracePeriodSeconds` (unlimited when absent) and reports drained; with `markGone`, it is then marked gone.', 'the agent is gone'),
    body: { schema: 'DrainRequest', optional: true },
  },
  'GET /api/v1/master': {
    id: 'getMaster',
    summary: 'Master status',
    description: 'The master record, with the counts the last sweep left in it: one store read, no scan.',
    tag: 'operators',
    security: 'operator',
    ok: { status: 200, description: 'the master', schema: 'Master' },
    errors: operatorErrors,
  },
  'POST /api/v1/master/recovery/release': {
    id: 'releaseHold',
    summary: 'Release a recovery hold',
    description: 'Lets the next sweep mark the agents a hold kept back. `dryRun: true` only reports which they would be.',
    tag: 'operators',
    security: 'operator',
    body: { schema: 'ReleaseRequest', optional: true },
    ok: { status: 200, description: 'released (or, with dryRun, what would be)', schema: 'Release' },
    errors: { 400: '', ...operatorErrors, 409: '`not_held`: marking is not held; `conflict`: the master record kept changing, try again', 413: '' },
  },
  'GET /api/v1/registry': {
    id: 'exportRegistry',
    summary: 'Export the registry',
    description:
      'Every record, one `{ key, version, value }` a line, then `{"end":true,"count":N}`. A stream cut short by a store failure ends with `{"error":"unavailable",...}` instead, so a backup can tell it is incomplete.',
    tag: 'operators',
    security: 'operator',
    ok: { status: 200, description: 'NDJSON', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
    errors: operatorErrors,
  },
  'GET /health': {
    id: 'health',
    summary: 'Health',
    description: 'Whether the master serves and the store answers; says when marking is held and when the lease has lapsed. With an operator token, also why and the epoch.',
    tag: 'master',
    security: 'public-or-operator',
    ok: { status: 200, description: 'serving', schema: 'Health' },
    errors: { 503: 'the store does not answer, or there is no master record yet' },
  },
  'GET /metrics': {
    id: 'metrics',
    summary: 'Prometheus metrics',
    description: METRICS_DESCRIPTION,
    tag: 'operators',
    security: 'operator',
    ok: { status: 200, description: 'the metrics', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } },
    errors: { 401: '', 403: operatorErrors[403] },
  },
  'GET /openapi.json': {
    id: 'openApi',
    summary: 'This document',
    description: 'OpenAPI 3.1, served by every runtime.',
    tag: 'master',
    security: 'public',
    ok: { status: 200, description: 'the document', content: { 'application/json': { schema: { type: 'object' } } } },
    errors: {},
  },
  'GET /doc': {
    id: 'apiReference',
    summary: 'The rendered API reference',
    description: 'Swagger UI, from files served here (no CDN): it works offline. Served by the Node server; on Lambda and Workers a 404 says so.',
    tag: 'master',
    security: 'public',
    ok: { status: 200, description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
    errors: { 404: 'this runtime does not serve the reference (Lambda, Workers): use the Node server, or GET /openapi.json' },
  },
  'GET /doc/assets/{file}': {
    id: 'apiReferenceAsset',
    summary: "A file of the rendered reference (from the swagger-ui-dist package)",
    tag: 'master',
    security: 'public',
    ok: { status: 200, description: 'the file', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } }, 'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } } } },
    errors: { 404: 'no such file, or this runtime does not serve the reference' },
  },
};
