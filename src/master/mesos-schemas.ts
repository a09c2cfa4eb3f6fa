// Calls of Mesos' v1 operator API that `POST /api/v1` takes (JSON only), field names as Mesos'
// protobufs spell them. Exported for the OpenAPI document as well as for validation.
import { z } from 'zod';

export const MESOS_CALL_TYPES = [
  'GET_HEALTH', 'GET_MASTER', 'GET_AGENTS', 'GET_FRAMEWORKS', 'MARK_AGENT_GONE', 'DEACTIVATE_AGENT', 'REACTIVATE_AGENT', 'DRAIN_AGENT',
] as const;
export type MesosCallType = (typeof MESOS_CALL_TYPES)[number];

/** Just the type, read first, so that an unsupported call is told which ones are. */
export const mesosCallType = z.looseObject({ type: z.string().max(64) });

/** Mesos' AgentID. Ours are UUIDs; any other value names no agent (a 404, as an unknown UUID is). */
export const mesosAgentId = z.object({ value: z.string().min(1).max(256) });

const MAX_GRACE_MS = 365 * 86_400_000;
/** int64 nanoseconds: a number, or a decimal string as protobuf's JSON mapping writes int64s. */
const nanoseconds = z.union([z.number().int().min(0), z.string().regex(/^\d{1,19}$/, 'must be whole nanoseconds').transform(Number)]);
/**
 * Mesos' DurationInfo (`nanoseconds`); `seconds` is accepted too, as the REST API counts, but not
 * both. Given back in milliseconds, bounded as the REST API's grace period is.
 */
export const mesosDurationInfo = z
  .object({ nanoseconds: nanoseconds.optional(), seconds: z.number().min(0).optional() })
  .refine((d) => (d.nanoseconds === undefined) !== (d.seconds === undefined), 'give nanoseconds or seconds, one of them')
  .transform((d) => (d.seconds !== undefined ? d.seconds * 1000 : d.nanoseconds! / 1_000_000))
  .refine((ms) => ms <= MAX_GRACE_MS, 'must be at most 365 days');

const onAgent = z.object({ agent_id: mesosAgentId });

export const mesosCall = z.discriminatedUnion('type', [
  z.object({ type: z.literal('GET_HEALTH') }),
  z.object({ type: z.literal('GET_MASTER') }),
  z.object({ type: z.literal('GET_AGENTS') }),
  z.object({ type: z.literal('GET_FRAMEWORKS') }),
  z.object({ type: z.literal('MARK_AGENT_GONE'), mark_agent_gone: onAgent }),
  z.object({ type: z.literal('DEACTIVATE_AGENT'), deactivate_agent: onAgent }),
  z.object({ type: z.literal('REACTIVATE_AGENT'), reactivate_agent: onAgent }),
  z.object({
    type: z.literal('DRAIN_AGENT'),
    drain_agent: z.object({ agent_id: mesosAgentId, max_grace_period: mesosDurationInfo.optional(), mark_gone: z.boolean().optional() }),
  }),
]);
export type MesosCall = z.output<typeof mesosCall>;

/** `GET /master/slaves?slave_id=…`, as Mesos' legacy endpoint takes it. */
export const legacySlavesQuery = z.object({ slave_id: z.string().max(256).optional() });
