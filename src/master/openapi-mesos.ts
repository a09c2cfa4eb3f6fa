// The Mesos-compatible endpoints (mesos-routes.ts) in the OpenAPI document: the calls `POST /api/v1`
// takes are mesos-schemas.ts's own schema; the answers, built by mesos-shapes.ts's functions, are
// described here as zod schemas that openapi.test.ts parses real answers with.
import { z } from 'zod';
import { operatorErrors, type Operation } from './openapi-operations.ts';
import { legacySlavesQuery, MESOS_CALL_TYPES, mesosCall } from './mesos-schemas.ts';

const id = z.object({ value: z.string() });
const resource = z.object({
  name: z.string(),
  type: z.enum(['SCALAR', 'RANGES', 'SET']),
  scalar: z.object({ value: z.number() }).optional(),
  ranges: z.object({ range: z.array(z.object({ begin: z.number(), end: z.number() })) }).optional(),
  set: z.object({ item: z.array(z.string()) }).optional(),
  role: z.string(),
});
const agentInfo = z.object({
  id,
  hostname: z.string(),
  port: z.number().int(),
  resources: z.array(resource),
  attributes: z.array(z.object({ name: z.string(), type: z.literal('TEXT'), text: z.object({ value: z.string() }) })),
});
const drainInfo = z.object({
  state: z.enum(['DRAINING', 'DRAINED']),
  config: z.object({ max_grace_period: z.object({ nanoseconds: z.number() }).optional(), mark_gone: z.boolean() }),
});

const nanos = z.object({ nanoseconds: z.number() });
const mesosFramework = z.object({
  framework_info: z.object({
    id,
    name: z.string(),
    user: z.string(),
    roles: z.array(z.string()).optional(),
    principal: z.string().optional(),
    hostname: z.string().optional(),
    webui_url: z.string().optional(),
    capabilities: z.array(z.object({ type: z.string() })).optional(),
    failover_timeout: z.number().describe('seconds'),
  }),
  active: z.boolean(),
  connected: z.boolean(),
  recovered: z.boolean(),
  registered_time: nanos,
  reregistered_time: nanos.optional(),
  unregistered_time: nanos.optional(),
});

export const mesosResponseShape = z.object({
  type: z.enum(['GET_HEALTH', 'GET_MASTER', 'GET_AGENTS', 'GET_FRAMEWORKS']),
  get_health: z.object({ healthy: z.boolean() }).optional(),
  get_master: z
    .object({
      master_info: z.object({ id: z.string().describe('`epoch-<epoch>`: it changes at every failover'), ip: z.number(), port: z.number(), hostname: z.string(), address: z.object({ hostname: z.string(), port: z.number() }) }),
      start_time: z.number().describe('seconds since the epoch'),
      elected_time: z.number(),
    })
    .optional(),
  get_agents: z
    .object({
      agents: z.array(
        z.object({
          agent_info: agentInfo,
          active: z.boolean(),
          deactivated: z.boolean(),
          version: z.string(),
          registered_time: z.object({ nanoseconds: z.number() }),
          total_resources: z.array(resource),
          drain_info: drainInfo.optional(),
        }),
      ),
      recovered_agents: z.array(agentInfo).describe('admitted agents that have not re-registered since the last failover'),
    })
    .optional(),
  get_frameworks: z
    .object({
      frameworks: z.array(mesosFramework).describe('active and disconnected frameworks; `recovered` ones have not re-registered since the last failover'),
      completed_frameworks: z.array(mesosFramework).describe('completed (torn down, or past their failover timeout) and not yet pruned'),
    })
    .optional(),
});

const legacyRecovered = z.object({
  id: z.string(),
  hostname: z.string(),
  port: z.number().int(),
  resources: z.record(z.string(), z.union([z.number(), z.string()])),
  attributes: z.record(z.string(), z.string()),
});
export const legacySlavesShape = z.object({
  slaves: z.array(
    legacyRecovered.extend({
      active: z.boolean(),
      deactivated: z.boolean(),
      registered_time: z.number().describe('seconds since the epoch'),
      version: z.string(),
      drain_info: drainInfo.optional(),
    }),
  ),
  recovered_slaves: z.array(legacyRecovered),
});

export const MESOS_REQUESTS = { MesosCall: mesosCall };
export const MESOS_RESPONSES = { MesosResponse: mesosResponseShape, LegacySlaves: legacySlavesShape };

export const MESOS_OPERATIONS: Record<string, Operation> = {
  'POST /api/v1': {
    id: 'mesosOperatorCall',
    summary: "Mesos' v1 operator API (JSON)",
    description:
      `For tooling written against Mesos. Supported calls: ${MESOS_CALL_TYPES.join(', ')}; any other is a 400 \`unsupported_call\` naming them. ` +
      'GET_* calls answer in the Mesos JSON shapes; the agent calls answer an empty 200. Agents that have not re-registered since the last failover are listed in `recovered_agents`, as in Mesos; frameworks that have not are `recovered: true`.',
    tag: 'mesos',
    security: 'operator',
    body: { schema: 'MesosCall' },
    ok: { status: 200, description: 'the answer of a GET_* call; empty for the agent calls', schema: 'MesosResponse' },
    errors: {
      400: 'a malformed call, or `unsupported_call`',
      ...operatorErrors,
      404: 'no such agent',
      406: '`not_acceptable`: answers are JSON only',
      410: 'the agent is gone (deactivate, reactivate, drain)',
      413: '',
      415: '`unsupported_media_type`: calls are JSON only',
    },
  },
  'GET /master/slaves': {
    id: 'mesosSlaves',
    summary: "Mesos' legacy /master/slaves",
    description: 'Admitted agents in the legacy shape: resources as one object, times in seconds. `slave_id` narrows it to one agent (empty lists when it names none).',
    tag: 'mesos',
    security: 'operator',
    query: legacySlavesQuery,
    ok: { status: 200, description: 'the slaves', schema: 'LegacySlaves' },
    errors: { 400: '', ...operatorErrors },
  },
};
