// Generated requests to the framework endpoints (DESIGN.md, "Frameworks"): a scheduler's register,
// re-register, heartbeat and DELETE, an operator's list, get and teardown. Built over requests.ts's
// helpers (targets, credentials, mutated bodies, queries): targets and Refs name the world's
// frameworks by index, credentials include the framework token, a framework's own secret, another
// framework's or an agent's. Also the whole generator: every endpoint, agents' and frameworks'.
import fc from 'fast-check';
import type { World } from './world.ts';
import {
  ENDPOINTS, actionValid, bodyArb, concrete, concreteFor, credentialsArb, deleteBody, epoch, queryOf, queryString, requestArbs, requestSpecArb, stepsOf, text,
  type Concrete, type Need, type RequestSpec, type Route,
} from './requests.ts';

export const FRAMEWORK_ENDPOINTS = ['fwRegister', 'fwReregister', 'fwHeartbeat', 'fwLeave', 'fwList', 'fwGet', 'fwTeardown'] as const;
export type FrameworkEndpoint = (typeof FRAMEWORK_ENDPOINTS)[number];

/** Every endpoint the fuzzer sends to. */
export const ALL_ENDPOINTS = [...ENDPOINTS, ...FRAMEWORK_ENDPOINTS];

const NEED: Record<FrameworkEndpoint, Need> = {
  fwRegister: 'framework',
  fwReregister: 'scheduler',
  fwHeartbeat: 'scheduler',
  fwLeave: 'scheduler',
  fwList: 'operator',
  fwGet: 'operator',
  fwTeardown: 'operator',
};
const WEIGHTS: Record<FrameworkEndpoint, number> = { fwRegister: 5, fwReregister: 4, fwHeartbeat: 4, fwLeave: 2, fwList: 3, fwGet: 2, fwTeardown: 2 };

// Well-formed bodies (they may still be refused: a completed framework, another secret, too big an info).
const MAX_LIST = 64;
const listItem = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('*', 'web', 'analytics', 'MULTI_ROLE', 'PARTITION_AWARE') },
  { weight: 2, arbitrary: text(0, 16) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(128), 'x'.repeat(129)) },
);
/** Roles or capabilities: a few, or as many (and as long) as allowed, or one more. */
const list = fc.oneof(
  { weight: 12, arbitrary: fc.array(listItem, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(MAX_LIST, MAX_LIST + 1).chain((n) => fc.array(listItem, { minLength: n, maxLength: n })) },
  { weight: 1, arbitrary: fc.constantFrom(MAX_LIST, MAX_LIST + 1).map((n) => Array.from({ length: n }, (_, i) => `${i}`.padEnd(128, 'r'))) },
);
/** A string field: a usual value mostly, else any text, or as long as allowed (in UTF-16 units), or one more. */
const field = (known: string[], max: number) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: text(0, 40) },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(max), 'x'.repeat(max + 1), '\u{1f600}'.repeat(max / 2), '\u{1f600}'.repeat(max)) },
  );
const infoFields = {
  name: field(['marathon', 'spark', 'batch'], 255),
  user: field(['root', 'etl', ''], 255),
  roles: list,
  principal: field(['marathon', 'spark'], 255),
  hostname: field(['sched-1', 'h.example.com'], 255),
  webuiUrl: field(['http://sched-1:8080', 'https://marathon.example.com/ui'], 2048),
  capabilities: list,
  failoverTimeoutSeconds: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(0, 1, 60, 3600, 7 * 86_400, 365 * 86_400) },
    { weight: 2, arbitrary: fc.double({ min: 0, max: 365 * 86_400, noNaN: true }) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom(365 * 86_400 + 1, -1, -0, 1e-9, 1e308, 2 ** 53), fc.nat()) },
  ),
};
const registerValid = fc
  .tuple(fc.record(infoFields, { requiredKeys: ['name'] }), credentialsArb('frameworkId', 'frameworks'))
  .map(([info, credentials]) => ({ ...info, ...credentials }) as Record<string, unknown>);
const reregisterValid = fc
  .tuple(fc.record(infoFields, { requiredKeys: [] }), fc.option(fc.boolean(), { nil: undefined }))
  .map(([info, rotateSecret]) => ({ ...info, ...(rotateSecret === undefined ? {} : { rotateSecret }) }) as Record<string, unknown>);
const heartbeatValid = fc.record({ epoch }) as fc.Arbitrary<Record<string, unknown>>;
const listQuery = queryOf(['status', 'cursor', 'limit']);

const SPECS: Record<FrameworkEndpoint, fc.Arbitrary<RequestSpec>> = {
  fwRegister: requestSpecArb('fwRegister', bodyArb(registerValid)),
  fwReregister: requestSpecArb('fwReregister', bodyArb(reregisterValid)),
  fwHeartbeat: requestSpecArb('fwHeartbeat', bodyArb(heartbeatValid)),
  fwLeave: requestSpecArb('fwLeave', deleteBody(fc.constant({}))),
  fwList: requestSpecArb('fwList', fc.constant({ b: 'none' }), listQuery),
  fwGet: requestSpecArb('fwGet', fc.constant({ b: 'none' })),
  fwTeardown: requestSpecArb('fwTeardown', bodyArb(actionValid)),
};
const frameworkRequestArbs = FRAMEWORK_ENDPOINTS.map((e) => ({ weight: WEIGHTS[e], arbitrary: SPECS[e] }));

/** A case: requests to any endpoint, the agents' and the frameworks', with time passing between some. */
export const stepsArb = stepsOf(fc.oneof(...requestArbs, ...frameworkRequestArbs));

const isFramework = (endpoint: string): endpoint is FrameworkEndpoint => (FRAMEWORK_ENDPOINTS as readonly string[]).includes(endpoint);

function frameworkRoute(w: World, spec: RequestSpec, segment: string): Route {
  const endpoint = spec.endpoint as FrameworkEndpoint;
  switch (endpoint) {
    case 'fwRegister':
      return { method: 'POST', path: '/api/v1/frameworks' };
    case 'fwReregister':
      return { method: 'POST', path: `/api/v1/frameworks/${segment}/reregister`, usesId: true };
    case 'fwHeartbeat':
      return { method: 'POST', path: `/api/v1/frameworks/${segment}/heartbeat`, usesId: true };
    case 'fwTeardown':
      return { method: 'POST', path: `/api/v1/frameworks/${segment}/teardown`, usesId: true };
    case 'fwLeave':
      return { method: 'DELETE', path: `/api/v1/frameworks/${segment}`, usesId: true };
    case 'fwList':
      return { method: 'GET', path: `/api/v1/frameworks${queryString(w, spec.query)}` };
    case 'fwGet':
      return { method: 'GET', path: `/api/v1/frameworks/${segment}`, usesId: true };
  }
}

/** Any request made concrete: a framework endpoint's targets and secrets are the world's frameworks. */
export function concreteRequest(w: World, spec: RequestSpec): Concrete {
  if (!isFramework(spec.endpoint)) return concrete(w, spec);
  return concreteFor(w, spec, NEED[spec.endpoint], 'frameworks', (segment) => frameworkRoute(w, spec, segment));
}
