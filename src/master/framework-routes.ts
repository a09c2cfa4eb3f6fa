// Frameworks over HTTP (DESIGN.md, "Frameworks"), mounted at /api/v1/frameworks: the scheduler's
// routes (register with a framework token, then its secret) and the operator's (list, get, teardown).
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { FrameworkInfo } from '../registry/index.ts';
import { frameworkView, type Registrar } from '../registrar.ts';
import { MAX_INFO_BYTES } from './agent-routes.ts';
import { agentSecret, requireToken, type TokenSource } from './auth.ts';
import { ApiError } from './errors.ts';
import { frameworkHeartbeatBody, frameworkListQuery, frameworkRegisterBody, frameworkReregisterBody } from './framework-schemas.ts';
import { registrationLimit, type Rate } from './rate-limit.ts';
import { actionBody, body, idParam, parse } from './schemas.ts';
import { byteLength } from '../store.ts';

type Env = { Variables: { operator: string } };
type InfoFields = { [K in keyof FrameworkInfo]?: FrameworkInfo[K] | undefined };

/** The info as stored (absent fields left out), at most MAX_INFO_BYTES as JSON, as an agent's. */
function frameworkInfo(b: InfoFields & { name: string }): FrameworkInfo {
  const info = Object.fromEntries(
    (['name', 'user', 'roles', 'principal', 'hostname', 'webuiUrl', 'capabilities'] as const).flatMap((k) => (b[k] === undefined ? [] : [[k, b[k]]])),
  ) as unknown as FrameworkInfo;
  const bytes = byteLength(JSON.stringify(info));
  if (bytes > MAX_INFO_BYTES) throw new ApiError(400, 'bad_request', `the framework's info is ${bytes} bytes as JSON; at most ${MAX_INFO_BYTES}`);
  return info;
}

const frameworkId = (c: Context) => idParam(c, 'framework');

export function frameworkRoutes(registrar: Registrar, tokens: TokenSource, registrationRate?: Rate) {
  const { policy } = registrar.core;
  const limitRegistrations = registrationLimit(registrationRate, registrar.core.clock, 'framework');
  const heartbeatIntervalSeconds = policy.heartbeatInterval / 1000;
  const app = new Hono<Env>();
  // On each operator route, not app.use: the scheduler's routes share the path.
  const operator: MiddlewareHandler<Env> = async (c, next) => {
    c.set('operator', await requireToken(c, tokens, 'operator'));
    await next();
  };

  app.post('/', async (c) => {
    const by = await requireToken(c, tokens, 'framework');
    const b = await body(c, frameworkRegisterBody);
    const info = frameworkInfo(b);
    limitRegistrations(c, by);
    const { record, secret, epoch } = await registrar.registerFramework({
      info,
      by,
      ...(b.failoverTimeoutSeconds === undefined ? {} : { failoverTimeoutSeconds: b.failoverTimeoutSeconds }),
      ...(b.frameworkId ? { frameworkId: b.frameworkId, secret: b.secret! } : {}),
    });
    return c.json({ frameworkId: record.id, secret, epoch, heartbeatIntervalSeconds, failoverTimeoutSeconds: record.failoverTimeoutSeconds }, 201);
  });

  app.post('/:frameworkId/reregister', async (c) => {
    const secret = agentSecret(c, tokens, 'framework');
    const id = frameworkId(c);
    const b = await body(c, frameworkReregisterBody);
    const { record, epoch, secret: rotated } = await registrar.reregisterFramework(id, secret, {
      ...(b.name === undefined ? {} : { info: frameworkInfo({ ...b, name: b.name }) }),
      ...(b.failoverTimeoutSeconds === undefined ? {} : { failoverTimeoutSeconds: b.failoverTimeoutSeconds }),
      ...(b.rotateSecret ? { rotateSecret: true } : {}),
    });
    return c.json({ frameworkId: record.id, epoch, heartbeatIntervalSeconds, failoverTimeoutSeconds: record.failoverTimeoutSeconds, ...(rotated ? { secret: rotated } : {}) });
  });

  app.post('/:frameworkId/heartbeat', async (c) => {
    const secret = agentSecret(c, tokens, 'framework');
    const id = frameworkId(c);
    const b = await body(c, frameworkHeartbeatBody);
    const { epoch } = await registrar.frameworkHeartbeat(id, secret, { epoch: b.epoch });
    return c.json({ epoch, heartbeatIntervalSeconds });
  });

  app.delete('/:frameworkId', async (c) => {
    const secret = agentSecret(c, tokens, 'framework');
    await registrar.leaveFramework(frameworkId(c), secret);
    return c.body(null, 204);
  });

  app.get('/', operator, async (c) => {
    const q = parse(frameworkListQuery, c.req.query());
    const page = await registrar.listFrameworks(q.status ? { status: q.status } : {}, { ...(q.cursor ? { cursor: q.cursor } : {}), ...(q.limit ? { limit: q.limit } : {}) });
    return c.json({ frameworks: page.frameworks.map(frameworkView), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  app.get('/:frameworkId', operator, async (c) => c.json(frameworkView(await registrar.getFramework(frameworkId(c)))));

  app.post('/:frameworkId/teardown', operator, async (c) => {
    const id = frameworkId(c);
    const { reason } = await body(c, actionBody);
    return c.json(frameworkView(await registrar.teardownFramework(id, { by: c.get('operator'), ...(reason ? { reason } : {}) })));
  });

  return app;
}
