// Request bodies and queries. Unknown fields are ignored (zod strips them); wrong types are a 400
// that names the field.
import type { Context } from 'hono';
import { z } from 'zod';
import { SECRET_PATTERN, UUID_PATTERN } from '../secrets.ts';
import { byteLength } from '../store.ts';
import { ApiError } from './errors.ts';

export const MAX_BODY_BYTES = 32 * 1024;

export const MAX_REASON_BYTES = 1024;
// Measured as stored (JSON, UTF-8), so that ten events' reasons and a 32 KiB body always fit a record
// in the store's 64 KiB: counting characters would let escapes (\u0001 is 6 bytes) overflow it.
export const reason = z
  .string()
  .refine((s) => byteLength(JSON.stringify(s)) - 2 <= MAX_REASON_BYTES, `must be at most ${MAX_REASON_BYTES} bytes`)
  .optional();
export const name = (max: number) => z.string().min(1).max(max);
// Part of a store key (the machine index): bounded in bytes and well-formed, as keys must be.
const MAX_MACHINE_ID_BYTES = 256;
const machineId = name(MAX_MACHINE_ID_BYTES).refine(
  (s) => s.isWellFormed() && byteLength(s) <= MAX_MACHINE_ID_BYTES,
  `must be well-formed text of at most ${MAX_MACHINE_ID_BYTES} bytes`,
);

const agentInfo = {
  hostname: name(255),
  port: z.number().int().min(0).max(65535).default(5051),
  resources: z.record(name(128), z.union([z.number().finite(), z.string().max(1024)])).default({}),
  attributes: z.record(name(128), z.string().max(1024)).default({}),
  version: z.string().max(128).default(''),
  machineId: machineId.optional(),
};

/** Agent ids are lowercase UUIDs (as generated); one chosen or written in capitals names the same agent. */
export const canonicalId = (id: string) => id.toLowerCase();

/** The agent id in a path; anything but a UUID names no agent, and never reaches the store as a key. */
export const agentIdParam = (c: Context): string => idParam(c, 'agent');

/** An agent's or a framework's id in a path (`agentId`, `frameworkId`): a UUID, in lowercase. */
export function idParam(c: Context, kind: 'agent' | 'framework'): string {
  const id = c.req.param(`${kind}Id`) ?? '';
  if (!UUID_PATTERN.test(id)) throw new ApiError(404, 'not_found', `no such ${kind}: ${kind} ids are UUIDs`);
  return canonicalId(id);
}

export const registerBody = z
  .object({
    ...agentInfo,
    agentId: z.string().regex(UUID_PATTERN, 'must be a UUID').transform(canonicalId).optional(),
    secret: z.string().regex(SECRET_PATTERN, 'must be at least 32 random bytes, base64url').optional(),
    previousSecret: z.string().max(256).optional(),
  })
  .refine((b) => (b.agentId === undefined) === (b.secret === undefined), { message: 'agentId and secret come together', path: ['secret'] });

export const reregisterBody = z.object({ ...agentInfo, rotateSecret: z.boolean().optional() });

export const heartbeatBody = z.object({
  epoch: z.number().int().min(0),
  ticket: z.string().max(2048).optional(),
  drained: z.boolean().optional(),
});

export const actionBody = z.object({ reason });
export const drainBody = z.object({
  reason,
  maxGracePeriodSeconds: z.number().min(0).max(365 * 86_400).optional(),
  markGone: z.boolean().optional(),
});
export const releaseBody = z.object({ reason, dryRun: z.boolean().optional() });

export const listQuery = z.object({
  status: z.enum(['admitted', 'unreachable', 'gone']).optional(),
  hostname: name(255).optional(),
  machineId: machineId.optional(),
  idPrefix: z.string().max(64).regex(/^[0-9a-fA-F-]*$/, 'must be the start of an agent id').optional(),
  attribute: z.array(z.string().regex(/^[^:]+:.*$/, 'must be key:value')).optional(),
  lastSeenBefore: z.string().optional(),
  drain: z.enum(['draining', 'drained', 'none']).optional(),
  pending: z.enum(['true', 'false']).optional(),
  cursor: z.string().max(4096).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

function invalid(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return new ApiError(400, 'bad_request', `${where}${issue?.message ?? 'invalid request'}`);
}

export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalid(result.error);
  return result.data;
}

/** The JSON body (an empty body counts as {}), parsed against a schema. */
export async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'bad_request', 'the body is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(400, 'bad_request', 'the body must be a JSON object');
  return parse(schema, value);
}

/** A time as milliseconds since the epoch or an ISO date. */
export function parseTime(field: string, text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new ApiError(400, 'bad_request', `${field}: not a time (milliseconds or ISO 8601)`);
  return ms;
}
