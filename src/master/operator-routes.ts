// The operator API over HTTP (DESIGN.md, "HTTP API", Operators).
import { Hono, type Context } from 'hono';
import { stream } from 'hono/streaming';
import { leaseLapsed } from '../registry/index.ts';
import { agentView, type AgentFilter, type Registrar } from '../registrar.ts';
import { requireToken, type TokenSource } from './auth.ts';
import { actionBody, agentIdParam, body, drainBody, listQuery, parse, parseTime, releaseBody } from './schemas.ts';

export function operatorRoutes(registrar: Registrar, tokens: TokenSource) {
  const app = new Hono<{ Variables: { operator: string } }>();
  app.use(async (c, next) => {
    c.set('operator', await requireToken(c, tokens, 'operator'));
    await next();
  });
  const actor = async (c: Context<{ Variables: { operator: string } }>) => {
    const { reason } = await body(c, actionBody);
    return { by: c.get('operator'), ...(reason ? { reason } : {}) };
  };

  app.get('/agents', async (c) => {
    const q = parse(listQuery, { ...c.req.query(), attribute: c.req.queries('attribute') });
    const filter: AgentFilter = {
      ...(q.status ? { status: q.status } : {}),
      ...(q.hostname ? { hostname: q.hostname } : {}),
      ...(q.machineId ? { machineId: q.machineId } : {}),
      ...(q.idPrefix ? { idPrefix: q.idPrefix.toLowerCase() } : {}),
      ...(q.attribute ? { attributes: q.attribute.map((a): [string, string] => [a.slice(0, a.indexOf(':')), a.slice(a.indexOf(':') + 1)]) } : {}),
      ...(q.lastSeenBefore ? { lastSeenBefore: parseTime('lastSeenBefore', q.lastSeenBefore) } : {}),
      ...(q.drain ? { drain: q.drain } : {}),
      ...(q.pending ? { pending: q.pending === 'true' } : {}),
    };
    const page = await registrar.listAgents(filter, { ...(q.cursor ? { cursor: q.cursor } : {}), ...(q.limit ? { limit: q.limit } : {}) });
    return c.json({ agents: page.agents.map(agentView), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  app.get('/agents/:agentId', async (c) => c.json(agentView(await registrar.getAgent(agentIdParam(c)))));

  app.post('/agents/:agentId/gone', async (c) => c.json(agentView(await registrar.markGone(agentIdParam(c), await actor(c)))));
  app.post('/agents/:agentId/deactivate', async (c) => c.json(agentView(await registrar.deactivate(agentIdParam(c), await actor(c)))));
  app.post('/agents/:agentId/reactivate', async (c) => c.json(agentView(await registrar.reactivate(agentIdParam(c), await actor(c)))));
  app.post('/agents/:agentId/drain', async (c) => {
    const b = await body(c, drainBody);
    const drain = {
      ...(b.maxGracePeriodSeconds === undefined ? {} : { maxGracePeriod: b.maxGracePeriodSeconds * 1000 }),
      ...(b.markGone ? { markGone: true } : {}),
    };
    const by = { by: c.get('operator'), ...(b.reason ? { reason: b.reason } : {}) };
    return c.json(agentView(await registrar.drain(agentIdParam(c), drain, by)));
  });

  // One store read: the counts are the last sweep's, as of `countsAt`.
  app.get('/master', async (c) => {
    const { master, counts, pending, countsAt } = await registrar.masterStatus();
    const lapsed = leaseLapsed(master, registrar.core.clock.now(), registrar.core.policy);
    return c.json({ ...master, counts, pending, countsAt, leaseLapsed: lapsed });
  });

  app.post('/master/recovery/release', async (c) => {
    const b = await body(c, releaseBody);
    const result = await registrar.releaseHold({ by: c.get('operator'), ...(b.reason ? { reason: b.reason } : {}) }, { dryRun: b.dryRun === true });
    return c.json({ released: !result.dryRun, dryRun: result.dryRun, recovery: result.master.recovery, wouldMark: result.wouldMark });
  });

  // NDJSON, one record a line, then {"end":true,"count":N}: a stream cut short by a store failure
  // ends with an error line instead, so a backup can tell it is incomplete.
  app.get('/registry', async (c) => {
    const records = registrar.exportRegistry();
    const first = await records.next(); // a store that fails at once still gets its 503
    c.header('Content-Type', 'application/x-ndjson');
    return stream(c, async (s) => {
      let count = 0;
      try {
        for (let r = first; !r.done; r = await records.next()) {
          await s.write(`${JSON.stringify(r.value)}\n`);
          count++;
        }
        await s.write(`${JSON.stringify({ end: true, count })}\n`);
      } catch (err) {
        await s.write(`${JSON.stringify({ error: 'unavailable', message: (err as Error).message, count })}\n`);
      }
    });
  });

  return app;
}
