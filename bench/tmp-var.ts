import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { createHmac, createHash } from 'node:crypto';
import { requestId } from '../src/master/request-id.ts';
import { requestMetrics } from '../src/master/metrics.ts';
import { createMetrics } from '../src/metrics/index.ts';
const run = promisify(execFile);
writeFileSync('/tmp/agents-x.json', JSON.stringify([{ agentId: 'a', secret: 's', epoch: 1, ticket: 'x'.repeat(200) }]));
const answer = { epoch: 1790000000000, heartbeatIntervalSeconds: 15, agentTimeoutSeconds: 75, drain: null, deactivated: false, ticket: 'k'.repeat(260) };
const variants: Record<string, (app: Hono) => void> = {
  bare: () => {},
  requestId: (app) => app.use(requestId()),
  metrics: (app) => app.use(requestMetrics(createMetrics())),
  both: (app) => app.use(requestId(), requestMetrics(createMetrics())),
  hmac: (app) => app.use(async (c, next) => { for (let i = 0; i < 2; i++) createHmac('sha256', 'k').update('x'.repeat(300)).digest(); createHash('sha256').update('s').digest(); await next(); }),
};
for (const [name, setup] of Object.entries(variants)) {
  const app = new Hono();
  setup(app);
  app.post('/api/v1/agents/:agentId/heartbeat', async (c) => { await c.req.json(); return c.json(answer); });
  const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => s.once('listening', r));
  const url = `http://127.0.0.1:${(s.address() as any).port}`;
  await run(process.execPath, ['bench/load.ts', url, '/tmp/agents-x.json', '2', '64']);
  const { stdout } = await run(process.execPath, ['bench/load.ts', url, '/tmp/agents-x.json', '6', '64']);
  const rps = JSON.parse(stdout).requestsPerSecond;
  console.log(`${name}: ${Math.round(rps)}/s, ${(1e6 / rps).toFixed(1)} µs a request`);
  s.close();
}
