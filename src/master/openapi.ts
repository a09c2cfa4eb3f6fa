// The OpenAPI 3.1 document (GET /openapi.json), generated from the zod schemas that validate requests
// (schemas.ts) and those of the answers (openapi-shapes.ts) with zod's own z.toJSONSchema: one source
// for what is checked and what is documented. The routes themselves are the tables of openapi-*.ts;
// openapi.test.ts checks that every route of the app is in the document and every path in it is a route.
import { z } from 'zod';
import { SESSION_COOKIE } from '../dashboard/session.ts';
import { UUID_PATTERN } from '../secrets.ts';
import { DOC_ASSETS } from './openapi-assets.ts';
import { DASHBOARD_OPERATIONS } from './openapi-dashboard.ts';
import { EVENT_OPERATIONS, EVENT_RESPONSES } from './openapi-events.ts';
import { FRAMEWORK_OPERATIONS, FRAMEWORK_REQUESTS, FRAMEWORK_RESPONSES } from './openapi-frameworks.ts';
import { MESOS_OPERATIONS, MESOS_REQUESTS, MESOS_RESPONSES } from './openapi-mesos.ts';
import { ERROR_STATUSES, OPERATIONS, type ErrorStatus, type Operation, type Security } from './openapi-operations.ts';
import * as shapes from './openapi-shapes.ts';
import { actionBody, drainBody, heartbeatBody, registerBody, releaseBody, reregisterBody } from './schemas.ts';

type Json = Record<string, unknown>;

/** Request bodies as clients may send them (defaults optional), by component name. */
const REQUESTS: Record<string, z.ZodType> = {
  RegisterRequest: registerBody,
  ReregisterRequest: reregisterBody,
  HeartbeatRequest: heartbeatBody,
  ActionRequest: actionBody,
  DrainRequest: drainBody,
  ReleaseRequest: releaseBody,
  ...FRAMEWORK_REQUESTS,
  ...MESOS_REQUESTS,
};

/** Answers as the master sends them, by component name. */
const RESPONSES: Record<string, z.ZodType> = {
  Error: shapes.errorShape,
  Registered: shapes.registeredShape,
  Reregistered: shapes.reregisteredShape,
  Heartbeat: shapes.heartbeatShape,
  Agent: shapes.agentShape,
  AgentPage: shapes.agentPageShape,
  Master: shapes.masterShape,
  Release: shapes.releaseShape,
  Health: shapes.healthShape,
  ...FRAMEWORK_RESPONSES,
  ...MESOS_RESPONSES,
  ...EVENT_RESPONSES,
};

const ALL_OPERATIONS: Record<string, Operation> = { ...OPERATIONS, ...FRAMEWORK_OPERATIONS, ...EVENT_OPERATIONS, ...MESOS_OPERATIONS, ...DASHBOARD_OPERATIONS };

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * JSON Schema (draft 2020-12, OpenAPI 3.1's dialect). What JSON Schema cannot say (refinements,
 * transforms) is left to the server's 400; a case-insensitive UUID pattern becomes `format: uuid`,
 * since a JSON Schema pattern has no flags.
 */
function toJsonSchemas(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: out } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema }) => {
      if (jsonSchema.pattern === UUID_PATTERN.source) {
        delete jsonSchema.pattern;
        jsonSchema.format = 'uuid';
      }
    },
  });
  return Object.fromEntries(Object.entries(out).map(([id, { $schema: _, $id: _id, ...schema }]) => [id, schema as Json]));
}

const SECURITY: Record<Security, Json[]> = {
  join: [{ joinToken: [] }],
  agent: [{ agentSecret: [] }],
  framework: [{ frameworkToken: [] }],
  frameworkSecret: [{ frameworkSecret: [] }],
  operator: [{ operatorToken: [] }],
  session: [{ dashboardSession: [] }],
  // Anyone; an operator token adds details.
  'public-or-operator': [{}, { operatorToken: [] }],
  public: [],
};

const PATH_PARAMETERS: Record<string, Json> = {
  agentId: { name: 'agentId', in: 'path', required: true, description: 'the agent id (a UUID, in either case)', schema: { type: 'string', format: 'uuid' } },
  frameworkId: { name: 'frameworkId', in: 'path', required: true, description: 'the framework id (a UUID, in either case)', schema: { type: 'string', format: 'uuid' } },
  file: { name: 'file', in: 'path', required: true, schema: { type: 'string', enum: [...Object.keys(DOC_ASSETS), 'init.js'] } },
};

function queryParameters(op: Operation): Json[] {
  if (!op.query) return [];
  const { properties = {}, required = [] } = toJsonSchemas({ Query: op.query }, 'input').Query as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    ...(op.queryDescriptions?.[name] ? { description: op.queryDescriptions[name] } : {}),
    schema,
    ...(schema.type === 'array' ? { style: 'form', explode: true } : {}),
  }));
}

const RETRY_AFTER = { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
const retryAfter = (status: string) => status === '429' || status === '503';
const ERROR_PAGE = { 'text/html': { schema: { type: 'string', description: "a page with the API's status, code and message" } } };

function errorResponse(status: string, description: string, op: Operation): Json {
  if (op.errorContent === 'html') return { description: description || ERROR_STATUSES[Number(status) as ErrorStatus], content: ERROR_PAGE };
  if (!description) return { $ref: `#/components/responses/${status}` };
  // A conflict that may say when to come back (machine-in-use) carries Retry-After too.
  const headers = retryAfter(status) || description.includes('Retry-After') ? { headers: RETRY_AFTER } : {};
  return { description, content: { 'application/json': { schema: ref('Error') } }, ...headers };
}

function requestBody(op: Operation): Json {
  if (op.form) return { requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: op.form } } } };
  if (!op.body) return {};
  const optional = op.body.optional ? { description: 'may be empty' } : {};
  return { requestBody: { required: !op.body.optional, ...optional, content: { 'application/json': { schema: ref(op.body.schema) } } } };
}

function operationObject(path: string, op: Operation): Json {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => PATH_PARAMETERS[name!] ?? { name, in: 'path', required: true, schema: { type: 'string' } });
  const query = [...queryParameters(op), ...(op.parameters ?? [])];
  const ok = op.ok.content ?? (op.ok.schema ? { 'application/json': { schema: ref(op.ok.schema) } } : undefined);
  const location = { headers: { Location: { schema: { type: 'string' } } } };
  return {
    operationId: op.id,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    security: SECURITY[op.security],
    ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
    ...requestBody(op),
    responses: {
      [String(op.ok.status)]: { description: op.ok.description, ...(ok ? { content: ok } : {}), ...(op.ok.status === 303 ? location : {}) },
      ...(op.redirect ? { 303: { description: op.redirect, ...location } } : {}),
      ...Object.fromEntries(Object.entries(op.errors).map(([status, description]) => [status, errorResponse(status, description, op)])),
    },
  };
}

function errorResponses(): Json {
  return Object.fromEntries(
    Object.entries(ERROR_STATUSES).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: ref('Error') } }, ...(retryAfter(status) ? { headers: RETRY_AFTER } : {}) },
    ]),
  );
}

/** The whole document; build it once per app (it is a few milliseconds of work, then a constant). */
export function openApiDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const [key, op] of Object.entries(ALL_OPERATIONS)) {
    const [method, path] = key.split(' ') as [string, string];
    paths[path] = { ...paths[path], [method.toLowerCase()]: operationObject(path, op) };
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'registrar',
      version: '1',
      summary: 'A Mesos-style master with a registrar, for stateless functions',
      description:
        'Errors are `{ "error": "<code>", "message": "..." }`: a 4xx for the caller\'s fault, 503 (with Retry-After) for store trouble. ' +
        'Unknown fields are ignored; bodies are limited to 32 KiB. Times are milliseconds since the epoch; durations sent to agents are seconds. ' +
        'The rendered reference (/doc) is served by the Node server; this document by every runtime.',
    },
    tags: [
      { name: 'agents', description: 'The agent protocol: register with the join token, then everything with the agent secret.' },
      { name: 'frameworks', description: 'Schedulers (frameworks): register with the framework token, then everything with the framework secret.' },
      { name: 'operators', description: 'The operator API, with an operator token.' },
      { name: 'mesos', description: "Mesos-compatible endpoints for existing tooling, with an operator token." },
      { name: 'dashboard', description: 'The operator dashboard: HTML pages, signed in once with an operator token.' },
      { name: 'master', description: 'Anyone: health and this reference.' },
    ],
    paths,
    components: {
      schemas: { ...toJsonSchemas(REQUESTS, 'input'), ...toJsonSchemas(RESPONSES, 'output') },
      responses: errorResponses(),
      headers: {
        RetryAfter: { description: 'seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } },
      },
      securitySchemes: {
        joinToken: { type: 'http', scheme: 'bearer', description: 'A join token (REGISTRAR_JOIN_TOKEN), shared by a fleet: only to register.' },
        agentSecret: { type: 'http', scheme: 'bearer', description: "The agent's own secret, returned when it registered (or chosen by it)." },
        operatorToken: { type: 'http', scheme: 'bearer', description: 'An operator token (REGISTRAR_OPERATOR_TOKEN). A token of another kind is a 403.' },
        frameworkToken: { type: 'http', scheme: 'bearer', description: 'A framework token (REGISTRAR_FRAMEWORK_TOKEN), shared by schedulers: only to register a framework.' },
        frameworkSecret: { type: 'http', scheme: 'bearer', description: "The framework's own secret, returned when it registered (or chosen by it)." },
        dashboardSession: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The dashboard session, from POST /login with an operator token.' },
      },
    },
  };
}
