// The framework routes (framework-routes.ts) in the OpenAPI document: requests are the schemas that
// validate them (framework-schemas.ts); answers are zod shapes that openapi.test.ts parses real ones with.
import { z } from 'zod';
import { frameworkHeartbeatBody, frameworkListQuery, frameworkRegisterBody, frameworkReregisterBody } from './framework-schemas.ts';
import { operatorErrors, type Operation } from './openapi-operations.ts';

const ms = z.number().int().describe('milliseconds since the epoch');
const heartbeatIntervalSeconds = z.number();
const failoverTimeoutSeconds = z.number().describe('how long a disconnected framework has to re-register before it is completed');

export const frameworkRegisteredShape = z.object({
  frameworkId: z.string(),
  secret: z.string().describe('the framework secret: keep it; only its hash is stored'),
  epoch: z.number().int(),
  heartbeatIntervalSeconds,
  failoverTimeoutSeconds,
});

export const frameworkReregisteredShape = z.object({
  frameworkId: z.string(),
  epoch: z.number().int(),
  heartbeatIntervalSeconds,
  failoverTimeoutSeconds,
  secret: z.string().optional().describe('a new secret, when `rotateSecret` was asked for: the previous one stops working'),
});

export const frameworkHeartbeatShape = z.object({ epoch: z.number().int(), heartbeatIntervalSeconds });

/** A framework's record as operators see it: never its secret's hash. */
export const frameworkShape = z.object({
  id: z.string(),
  info: z.object({
    name: z.string(),
    user: z.string().optional(),
    roles: z.array(z.string()).optional(),
    principal: z.string().optional(),
    hostname: z.string().optional(),
    webuiUrl: z.string().optional(),
    capabilities: z.array(z.string()).optional(),
  }),
  status: z.enum(['active', 'disconnected', 'completed']),
  epoch: z.number().int().describe('the master epoch it last registered or re-registered in'),
  registeredAt: ms,
  lastSeenAt: ms,
  failoverTimeoutSeconds,
  disconnectedAt: ms.optional(),
  completedAt: ms.optional(),
  events: z.array(z.object({ at: ms, type: z.string(), by: z.string(), reason: z.string().optional() })).describe('the last 10'),
});

export const frameworkPageShape = z.object({
  frameworks: z.array(frameworkShape),
  cursor: z.string().optional().describe('absent on the last page; a page may be short or empty and still carry one'),
});

export const FRAMEWORK_REQUESTS = {
  FrameworkRegisterRequest: frameworkRegisterBody,
  FrameworkReregisterRequest: frameworkReregisterBody,
  FrameworkHeartbeatRequest: frameworkHeartbeatBody,
};

export const FRAMEWORK_RESPONSES = {
  FrameworkRegistered: frameworkRegisteredShape,
  FrameworkReregistered: frameworkReregisteredShape,
  FrameworkHeartbeat: frameworkHeartbeatShape,
  Framework: frameworkShape,
  FrameworkPage: frameworkPageShape,
};

const secretErrors = {
  401: "a missing credential, or a secret that is not this framework's",
  403: 'a token instead of the framework secret',
  404: 'no such framework: register afresh',
} as const;

export const FRAMEWORK_OPERATIONS: Record<string, Operation> = {
  'POST /api/v1/frameworks': {
    id: 'registerFramework',
    summary: 'Register a framework',
    description:
      'A scheduler registers with a framework token and gets a fresh id and secret, or uses the `frameworkId` (a UUID) and `secret` it chose and saved first: a retry with the same pair returns the same 201. ' +
      '`failoverTimeoutSeconds` (0 by default, as Mesos) is how long it has to re-register once disconnected.',
    tag: 'frameworks',
    security: 'framework',
    body: { schema: 'FrameworkRegisterRequest' },
    ok: { status: 201, description: 'registered', schema: 'FrameworkRegistered' },
    errors: {
      400: '',
      401: 'a missing or invalid framework token',
      403: 'another kind of token, or a chosen frameworkId registered with another secret',
      410: 'the chosen frameworkId was completed (or pruned after): register without an id',
      413: '',
      429: '`rate_limited` (registrations per framework-token label)',
      503: '',
    },
  },
  'POST /api/v1/frameworks/{frameworkId}/reregister': {
    id: 'reregisterFramework',
    summary: 'Re-register a framework',
    description:
      'After a `409 reregister` (a new master epoch, or after being disconnected), or as a new scheduler instance taking over the same framework. ' +
      'Without `name`, the framework keeps its info. `rotateSecret` returns a new secret and locks the previous instance out.',
    tag: 'frameworks',
    security: 'frameworkSecret',
    body: { schema: 'FrameworkReregisterRequest', optional: true },
    ok: { status: 200, description: 'active in the current epoch', schema: 'FrameworkReregistered' },
    errors: { 400: '', ...secretErrors, 410: 'the framework was completed', 413: '', 503: '' },
  },
  'POST /api/v1/frameworks/{frameworkId}/heartbeat': {
    id: 'frameworkHeartbeat',
    summary: 'Framework heartbeat',
    description: 'Every `heartbeatIntervalSeconds`.',
    tag: 'frameworks',
    security: 'frameworkSecret',
    body: { schema: 'FrameworkHeartbeatRequest' },
    ok: { status: 200, description: 'alive', schema: 'FrameworkHeartbeat' },
    errors: { 400: '', ...secretErrors, 409: '`reregister` with the `epoch` to re-register in (a new epoch, or the framework was disconnected)', 410: 'the framework was completed', 413: '', 503: '' },
  },
  'DELETE /api/v1/frameworks/{frameworkId}': {
    id: 'teardownSelf',
    summary: 'Tear a framework down',
    description: 'The framework ends on purpose: it is completed, which is final.',
    tag: 'frameworks',
    security: 'frameworkSecret',
    ok: { status: 204, description: 'completed' },
    errors: { ...secretErrors, 410: 'the framework was already completed', 503: '' },
  },
  'GET /api/v1/frameworks': {
    id: 'listFrameworks',
    summary: 'List frameworks',
    description: 'A page of frameworks. A page may be short or empty and still carry a cursor: stop only when none comes back.',
    tag: 'operators',
    security: 'operator',
    query: frameworkListQuery,
    queryDescriptions: { cursor: 'from the previous page', limit: 'records to scan for this page (at most 1000)' },
    ok: { status: 200, description: 'a page', schema: 'FrameworkPage' },
    errors: { 400: 'an invalid filter or cursor', ...operatorErrors },
  },
  'GET /api/v1/frameworks/{frameworkId}': {
    id: 'getFramework',
    summary: 'Get a framework',
    tag: 'operators',
    security: 'operator',
    ok: { status: 200, description: 'the record (never its secret hash)', schema: 'Framework' },
    errors: { ...operatorErrors, 404: 'no such framework' },
  },
  'POST /api/v1/frameworks/{frameworkId}/teardown': {
    id: 'teardownFramework',
    summary: 'Tear a framework down',
    description: 'Completes it (final): its calls get 410 from now on. Idempotent.',
    tag: 'operators',
    security: 'operator',
    body: { schema: 'ActionRequest', optional: true },
    ok: { status: 200, description: 'the updated record', schema: 'Framework' },
    errors: { 400: '', ...operatorErrors, 404: 'no such framework', 413: '' },
  },
};
