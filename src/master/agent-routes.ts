// The agent protocol over HTTP (DESIGN.md, "HTTP API", Agents).
import { Hono } from 'hono';
import type { AgentInfo, Instructions, Policy } from '../registry/index.ts';
import type { Registrar } from '../registrar.ts';
import { agentSecret, requireToken, type TokenSource } from './auth.ts';
import { ApiError } from './errors.ts';
import { registrationLimit, type Rate } from './rate-limit.ts';
import { agentIdParam, body, heartbeatBody, registerBody, reregisterBody } from './schemas.ts';
import { byteLength } from '../store.ts';

type InfoFields = { hostname: string; port: number; resources: AgentInfo['resources']; attributes: AgentInfo['attributes']; version: string; machineId?: string | undefined };
const infoOf = (b: InfoFields): AgentInfo => ({
  hostname: b.hostname,
  port: b.port,
  resources: b.resources,
  attributes: b.attributes,
  version: b.version,
  ...(b.machineId === undefined ? {} : { machineId: b.machineId }),
});

/** An agent's info as stored, at most this many bytes: records stay small however many agents there are. */
export const MAX_INFO_BYTES = 4 * 1024;
function boundedInfo(b: InfoFields): AgentInfo {
  const info = infoOf(b);
  const bytes = byteLength(JSON.stringify(info));
  if (bytes > MAX_INFO_BYTES) throw new ApiError(400, 'bad_request', `the agent's info is ${bytes} bytes as JSON; at most ${MAX_INFO_BYTES}`);
  return info;
}

/** The timings every answer to an agent carries. */
const timingsOf = (policy: Pick<Policy, 'heartbeatInterval' | 'agentTimeout'>) => ({
  heartbeatIntervalSeconds: policy.heartbeatInterval / 1000,
  agentTimeoutSeconds: policy.agentTimeout / 1000,
});

/** The answer to an accepted heartbeat, whoever gives it (the master, or an edge from the ticket). */
export const heartbeatAnswer = (policy: Pick<Policy, 'heartbeatInterval' | 'agentTimeout'>, a: { epoch: number; instructions: Instructions; ticket?: string | undefined }) => ({
  epoch: a.epoch,
  ...timingsOf(policy),
  ...a.instructions,
  ...(a.ticket ? { ticket: a.ticket } : {}),
});

export function agentRoutes(registrar: Registrar, tokens: TokenSource, registrationRate?: Rate) {
  const { policy } = registrar.core;
  const limitRegistrations = registrationLimit(registrationRate, registrar.core.clock, 'join');
  const timings = timingsOf(policy);
  const app = new Hono();

  app.post('/', async (c) => {
    const by = await requireToken(c, tokens, 'join');
    const b = await body(c, registerBody);
    const info = boundedInfo(b);
    limitRegistrations(c, by);
    const { record, secret, epoch, ticket } = await registrar.register({
      info,
      by,
      ...(b.agentId ? { agentId: b.agentId, secret: b.secret! } : {}),
      ...(b.previousSecret ? { previousSecret: b.previousSecret } : {}),
    });
    return c.json({ agentId: record.id, secret, epoch, ...timings, ...(ticket ? { ticket } : {}) }, 201);
  });

  app.post('/:agentId/reregister', async (c) => {
    const secret = agentSecret(c, tokens);
    const id = agentIdParam(c);
    const b = await body(c, reregisterBody);
    const { record, epoch, secret: rotated, ticket } = await registrar.reregister(id, secret, {
      info: boundedInfo(b),
      ...(b.rotateSecret ? { rotateSecret: true } : {}),
    });
    return c.json({ agentId: record.id, epoch, ...timings, ...(rotated ? { secret: rotated } : {}), ...(ticket ? { ticket } : {}) });
  });

  app.post('/:agentId/heartbeat', async (c) => {
    const secret = agentSecret(c, tokens);
    const id = agentIdParam(c);
    const b = await body(c, heartbeatBody);
    const answer = await registrar.heartbeat(id, secret, {
      epoch: b.epoch,
      ...(b.drained ? { drained: true } : {}),
      ...(b.ticket ? { ticket: b.ticket } : {}),
    });
    return c.json(heartbeatAnswer(policy, answer));
  });

  app.delete('/:agentId', async (c) => {
    const secret = agentSecret(c, tokens);
    await registrar.leave(agentIdParam(c), secret);
    return c.body(null, 204);
  });

  return app;
}
