// What the master answers, as zod schemas: the OpenAPI document is generated from them (as request
// bodies are from schemas.ts), and openapi.test.ts parses real answers with them, so the document
// cannot drift from the code unnoticed. Objects are open: clients must ignore fields they do not know.
import { z } from 'zod';

const ms = z.number().int().describe('milliseconds since the epoch');

export const errorShape = z.object({
  error: z.string().describe('a stable code to branch on: bad_request, unauthorized, forbidden, not_found, reregister, machine-in-use, gone, payload_too_large, rate_limited, registry-full, not_held, conflict, unavailable'),
  message: z.string().describe('for people'),
  epoch: z.number().int().optional().describe('with `reregister`: the epoch to re-register in'),
});

const timings = {
  heartbeatIntervalSeconds: z.number(),
  agentTimeoutSeconds: z.number(),
};

const nextTicket = z.string().optional().describe('present it with the next heartbeat so that it may skip reading the store');

export const registeredShape = z.object({
  agentId: z.string(),
  secret: z.string().describe('the agent secret: keep it; only its hash is stored'),
  epoch: z.number().int(),
  ...timings,
  ticket: nextTicket,
});

export const reregisteredShape = z.object({
  agentId: z.string(),
  epoch: z.number().int(),
  ...timings,
  secret: z.string().optional().describe('a new secret, when `rotateSecret` was asked for'),
  ticket: nextTicket,
});

export const heartbeatShape = z.object({
  epoch: z.number().int(),
  ...timings,
  drain: z
    .object({
      state: z.enum(['draining', 'drained']),
      remainingSeconds: z.number().int().optional().describe("the grace period left: a duration, since agents' clocks are not trusted"),
    })
    .optional(),
  deactivated: z.boolean(),
  ticket: nextTicket,
});

const agentInfo = z.object({
  hostname: z.string(),
  port: z.number().int(),
  resources: z.record(z.string(), z.union([z.number(), z.string()])),
  attributes: z.record(z.string(), z.string()),
  version: z.string(),
  machineId: z.string().optional(),
});

/** An agent's record as operators see it: never its secret's hash. */
export const agentShape = z.object({
  id: z.string(),
  info: agentInfo,
  status: z.enum(['admitted', 'unreachable', 'gone']),
  epoch: z.number().int().describe('the master epoch it last registered or re-registered in'),
  registeredAt: ms,
  lastSeenAt: ms,
  unreachableAt: ms.optional(),
  goneAt: ms.optional(),
  drain: z.object({ state: z.enum(['draining', 'drained']), deadline: ms.optional(), markGone: z.boolean().optional() }).optional(),
  deactivated: z.boolean(),
  events: z.array(z.object({ at: ms, type: z.string(), by: z.string(), reason: z.string().optional() })).describe('the last 10'),
});

export const agentPageShape = z.object({
  agents: z.array(agentShape),
  cursor: z.string().optional().describe('absent on the last page; a page may be short or empty and still carry one'),
});

const hold = { reason: z.string(), since: ms };
const recovery = z.object({
  state: z.enum(['recovering', 'held', 'done']),
  deadline: ms.optional(),
  admittedAtOpen: z.number().int().optional(),
  heldReason: z.string().optional(),
  windowHold: z.object(hold).optional(),
  livenessHold: z.object({ ...hold, recentMarks: z.number().int() }).optional(),
  releasedAt: ms.optional(),
  releasedBy: z.string().optional(),
  releaseReason: z.string().optional(),
});

const counts = z.object({ admitted: z.number().int(), unreachable: z.number().int(), gone: z.number().int() });

export const masterShape = z.object({
  epoch: z.number().int(),
  leaseExpiresAt: ms,
  lastSweepAt: ms,
  livenessFloor: ms,
  startedAt: ms,
  recovery,
  counts: counts.optional().describe("as the last sweep counted them (one store read, no scan)"),
  pending: z.number().int().optional().describe('admitted agents not yet re-registered in an open or held window'),
  countsAt: ms.optional(),
  frameworkCounts: z.object({ active: z.number().int(), disconnected: z.number().int(), completed: z.number().int() }).optional().describe('frameworks by status as the last scanning sweep judged them'),
  leaseLapsed: z.boolean().describe('no sweeper is running: failure detection has stopped'),
});

export const releaseShape = z.object({
  released: z.boolean(),
  dryRun: z.boolean(),
  recovery,
  wouldMark: z.array(z.string()).describe('the ids of the agents the release lets the next sweep mark (or would, with dryRun)'),
});

export const healthShape = z.object({
  status: z.literal('serving'),
  recovery: z.enum(['recovering', 'held', 'done']),
  held: z.boolean(),
  leaseLapsed: z.boolean(),
  epoch: z.number().int().optional().describe('to operators only'),
  leaseExpiresAt: ms.optional().describe('to operators only'),
  warnings: z.array(z.string()),
});
