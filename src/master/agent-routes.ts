// The agent protocol over HTTP (DESIGN.md, "HTTP API", Agents).
import { Hono } from 'hono';
import type { AgentInfo } from '../registry/index.ts';
import type { Registrar } from '../registrar.ts';
import { agentSecret, requireToken, type Tokens } from './auth.ts';
import { agentIdParam, body, heartbeatBody, registerBody, reregisterBody } from './schemas.ts';

type InfoFields = { hostname: string; port: number; resources: AgentInfo['resources']; attributes: AgentInfo['attributes']; version: string; machineId?: string | undefined };
const infoOf = (b: InfoFields): AgentInfo => ({
  hostname: b.hostname,
  port: b.port,
  resources: b.resources,
  attributes: b.attributes,
  version: b.version,
  ...(b.machineId === undefined ? {} : { machineId: b.machineId }),
});

export function agentRoutes(registrar: Registrar, tokens: Tokens) {
  const { policy } = registrar.core;
  const timings = {
    heartbeatIntervalSeconds: policy.heartbeatInterval / 1000,
    agentTimeoutSeconds: policy.agentTimeout / 1000,
  };
  const app = new Hono();

  app.post('/', async (c) => {
    const by = requireToken(c, tokens, 'join');
    const b = await body(c, registerBody);
    const { record, secret, epoch } = await registrar.register({
      info: infoOf(b),
      by,
      ...(b.agentId ? { agentId: b.agentId, secret: b.secret! } : {}),
      ...(b.previousSecret ? { previousSecret: b.previousSecret } : {}),
    });
    return c.json({ agentId: record.id, secret, epoch, ...timings }, 201);
  });

  app.post('/:agentId/reregister', async (c) => {
    const secret = agentSecret(c, tokens);
    const id = agentIdParam(c);
    const b = await body(c, reregisterBody);
    const { record, epoch, secret: rotated } = await registrar.reregister(id, secret, {
      info: infoOf(b),
      ...(b.rotateSecret ? { rotateSecret: true } : {}),
    });
    return c.json({ agentId: record.id, epoch, ...timings, ...(rotated ? { secret: rotated } : {}) });
  });

  app.post('/:agentId/heartbeat', async (c) => {
    const secret = agentSecret(c, tokens);
    const id = agentIdParam(c);
    const b = await body(c, heartbeatBody);
    const { epoch, instructions } = await registrar.heartbeat(id, secret, {
      epoch: b.epoch,
      ...(b.drained ? { drained: true } : {}),
    });
    return c.json({ epoch, ...timings, ...instructions });
  });

  app.delete('/:agentId', async (c) => {
    const secret = agentSecret(c, tokens);
    await registrar.leave(agentIdParam(c), secret);
    return c.body(null, 204);
  });

  return app;
}
