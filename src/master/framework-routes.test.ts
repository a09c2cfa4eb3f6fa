import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FRAMEWORK, JOIN, OPERATOR, testMaster } from '../../test/support/master.ts';
import { StoreUnavailableError, type Store, type Write } from '../store.ts';
import { frameworkHeartbeatShape, frameworkPageShape, frameworkRegisteredShape, frameworkReregisteredShape, frameworkShape } from './openapi-frameworks.ts';
import { errorShape } from './openapi-shapes.ts';

const SECOND = 1_000;
const FRAMEWORK_ID = '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f';
const CHOSEN_SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA';

async function started(opts: Parameters<typeof testMaster>[0] = {}) {
  const m = testMaster(opts);
  await m.sweep();
  const fw = {
    register: (body: Record<string, unknown> = { name: 'marathon' }, token = FRAMEWORK) => m.call('POST', '/api/v1/frameworks', { token, body }),
    reregister: (id: string, secret: string, body: Record<string, unknown> = {}) => m.call('POST', `/api/v1/frameworks/${id}/reregister`, { token: secret, body }),
    heartbeat: (id: string, secret: string, body: Record<string, unknown>) => m.call('POST', `/api/v1/frameworks/${id}/heartbeat`, { token: secret, body }),
    remove: (id: string, secret: string) => m.call('DELETE', `/api/v1/frameworks/${id}`, { token: secret }),
  };
  return { m, fw };
}

/** A framework's record as operators see it. */
const frameworkOf = async (m: ReturnType<typeof testMaster>, id: string) => (await m.api.operator('GET', `/frameworks/${id}`)).body;

/** Advances the clock a sweep at a time (the sweeper runs every sweepInterval). */
async function sweepFor(m: ReturnType<typeof testMaster>, ms: number) {
  const end = m.clock.now() + ms;
  while (m.clock.now() < end) {
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep();
  }
}

describe('POST /api/v1/frameworks (register)', () => {
  it('registers with the framework token: 201 with an id, a secret, the epoch and the heartbeat interval', async () => {
    const { m, fw } = await started();
    const res = await fw.register({ name: 'marathon', user: 'root', roles: ['web'], webuiUrl: 'http://m:8080', capabilities: ['MULTI_ROLE'], failoverTimeoutSeconds: 600 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ epoch: 1, heartbeatIntervalSeconds: 15, failoverTimeoutSeconds: 600 });
    expect(res.body.frameworkId).toMatch(/^[0-9a-f-]{36}$/);
    const record = await frameworkOf(m, res.body.frameworkId);
    expect(record).toMatchObject({ status: 'active', info: { name: 'marathon', user: 'root', roles: ['web'], webuiUrl: 'http://m:8080', capabilities: ['MULTI_ROLE'] }, failoverTimeoutSeconds: 600 });
    expect(record.events).toEqual([{ at: m.clock.now(), type: 'registered', by: 'schedulers' }]);
    expect(record.secretHash).toBeUndefined();
    expect(record.lastRequestId).toBeUndefined();
  });

  it('defaults the failover timeout to 0, as Mesos', async () => {
    const { fw } = await started();
    expect((await fw.register()).body.failoverTimeoutSeconds).toBe(0);
  });

  it('401 without a token or with a wrong one; 403 with a join or operator token', async () => {
    const { fw, m } = await started();
    expect((await m.call('POST', '/api/v1/frameworks', { body: { name: 'x' } })).status).toBe(401);
    expect((await fw.register({ name: 'x' }, 'not-a-token-0123456789')).status).toBe(401);
    expect((await fw.register({ name: 'x' }, JOIN)).status).toBe(403);
    expect((await fw.register({ name: 'x' }, OPERATOR)).status).toBe(403);
    // ... and the framework token is the wrong kind for agents.
    expect((await m.call('POST', '/api/v1/agents', { token: FRAMEWORK, body: { hostname: 'a' } })).status).toBe(403);
  });

  it('400 for a bad body, 413 for an oversized one; nothing is written', async () => {
    const { fw, m } = await started();
    expect((await fw.register({})).status).toBe(400);
    expect((await fw.register({ name: 'x', failoverTimeoutSeconds: -1 })).status).toBe(400);
    expect((await fw.register({ name: 'x', roles: 'web' })).status).toBe(400);
    expect((await fw.register({ name: 'x', frameworkId: FRAMEWORK_ID })).body.message).toMatch(/frameworkId and secret come together/);
    expect((await m.call('POST', '/api/v1/frameworks', { token: FRAMEWORK, raw: '{"name":' })).status).toBe(400);
    expect((await fw.register({ name: 'x'.repeat(40_000) })).status).toBe(413);
    expect((await m.api.operator('GET', '/frameworks')).body.frameworks).toEqual([]);
  });

  it('a chosen id and secret make retries idempotent; another secret for that id is a 403', async () => {
    const { fw } = await started();
    const body = { name: 'marathon', frameworkId: FRAMEWORK_ID, secret: CHOSEN_SECRET };
    const first = await fw.register(body);
    const again = await fw.register(body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect((await fw.register({ ...body, secret: `${CHOSEN_SECRET}x` })).status).toBe(403);
  });
});

describe('scheduler calls with the framework secret', () => {
  it('heartbeats in the current epoch; another epoch is a 409 reregister with the current epoch', async () => {
    const { fw } = await started();
    const { frameworkId, secret, epoch } = (await fw.register()).body;
    const ok = await fw.heartbeat(frameworkId, secret, { epoch });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ epoch, heartbeatIntervalSeconds: 15 });
    const stale = await fw.heartbeat(frameworkId, secret, { epoch: epoch - 1 });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ error: 'reregister', epoch });
  });

  it('401 for another framework’s secret, 403 for a token, 404 for an unknown or malformed id, 400 for a bad heartbeat', async () => {
    const { fw } = await started();
    const a = (await fw.register()).body;
    const b = (await fw.register({ name: 'chronos' })).body;
    expect((await fw.heartbeat(a.frameworkId, b.secret, { epoch: a.epoch })).status).toBe(401);
    expect((await fw.heartbeat(a.frameworkId, FRAMEWORK, { epoch: a.epoch })).status).toBe(403);
    expect((await fw.heartbeat(FRAMEWORK_ID, a.secret, { epoch: a.epoch })).status).toBe(404);
    expect((await fw.heartbeat('not-a-uuid', a.secret, { epoch: a.epoch })).status).toBe(404);
    expect((await fw.heartbeat(a.frameworkId, a.secret, { epoch: 'one' })).status).toBe(400);
  });

  it('re-registers after a master failover and keeps its id; a new instance may rotate the secret, locking the old one out', async () => {
    const { m, fw } = await started();
    const { frameworkId, secret } = (await fw.register({ name: 'marathon', failoverTimeoutSeconds: 60 })).body;
    m.clock.advance(5 * 60 * SECOND); // no master ran: the lease lapses
    expect((await m.sweep()).step).toBe('new-epoch');
    const hb = await fw.heartbeat(frameworkId, secret, { epoch: 1 });
    expect(hb.status).toBe(409);
    const again = await fw.reregister(frameworkId, secret, { name: 'marathon', hostname: 'm2', rotateSecret: true });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ frameworkId, epoch: hb.body.epoch, failoverTimeoutSeconds: 60 });
    expect(again.body.secret).toBeDefined();
    expect((await fw.heartbeat(frameworkId, secret, { epoch: hb.body.epoch })).status).toBe(401);
    expect((await fw.heartbeat(frameworkId, again.body.secret, { epoch: hb.body.epoch })).status).toBe(200);
    expect((await frameworkOf(m, frameworkId)).info).toEqual({ name: 'marathon', hostname: 'm2' });
    const partial = await fw.reregister(frameworkId, again.body.secret, { hostname: 'm3' });
    expect(partial.status).toBe(400);
    expect(partial.body.message).toMatch(/^name: .*give its name/);
    expect((await frameworkOf(m, frameworkId)).info).toEqual({ name: 'marathon', hostname: 'm2' });
  });

  it('DELETE tears the framework down (204, completed); then every call of it is a 410', async () => {
    const { m, fw } = await started();
    const { frameworkId, secret, epoch } = (await fw.register()).body;
    expect((await fw.remove(frameworkId, secret)).status).toBe(204);
    const record = await frameworkOf(m, frameworkId);
    expect(record).toMatchObject({ status: 'completed', completedAt: m.clock.now() });
    expect(record.events.at(-1)).toMatchObject({ type: 'teardown', by: frameworkId });
    expect((await fw.heartbeat(frameworkId, secret, { epoch })).status).toBe(410);
    expect((await fw.reregister(frameworkId, secret)).status).toBe(410);
    expect((await fw.remove(frameworkId, secret)).status).toBe(410);
  });
});

describe('the sweeper on frameworks', () => {
  it('disconnects a silent framework after agentTimeout + granularity; it may re-register within its failover timeout', async () => {
    const { m, fw } = await started();
    const { frameworkId, secret } = (await fw.register({ name: 'marathon', failoverTimeoutSeconds: 300 })).body;
    await sweepFor(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval + m.policy.livenessGranularity);
    const down = await frameworkOf(m, frameworkId);
    expect(down.status).toBe('disconnected');
    expect(down.events.at(-1)).toMatchObject({ type: 'disconnected', by: 'master' });
    expect((await fw.heartbeat(frameworkId, secret, { epoch: 1 })).body.error).toBe('reregister');
    expect((await fw.reregister(frameworkId, secret)).status).toBe(200);
    expect((await frameworkOf(m, frameworkId)).status).toBe('active');
  });

  it('completes a disconnected framework once its failover timeout has passed: final (410)', async () => {
    const { m, fw } = await started();
    const { frameworkId, secret } = (await fw.register()).body; // failover timeout 0
    await sweepFor(m, m.policy.agentTimeout + 3 * m.policy.livenessGranularity);
    const record = await frameworkOf(m, frameworkId);
    expect(record.status).toBe('completed');
    expect(record.events.map((e: { type: string }) => e.type)).toEqual(['registered', 'disconnected', 'completed']);
    expect((await fw.reregister(frameworkId, secret)).status).toBe(410);
  });
});

describe('operators', () => {
  it('list (by status, paged), get and tear down (idempotent, with a reason); operator token only', async () => {
    const { m, fw } = await started();
    const a = (await fw.register({ name: 'a' })).body;
    await fw.register({ name: 'b' });
    expect((await m.api.operator('GET', '/frameworks')).body.frameworks).toHaveLength(2);
    const torn = await m.api.operator('POST', `/frameworks/${a.frameworkId}/teardown`, { reason: 'retired' });
    expect(torn.status).toBe(200);
    expect(torn.body.events.at(-1)).toMatchObject({ type: 'teardown', by: 'alice', reason: 'retired' });
    expect((await m.api.operator('POST', `/frameworks/${a.frameworkId}/teardown`)).status).toBe(200);
    const completed = await m.api.operator('GET', '/frameworks?status=completed');
    expect(completed.body.frameworks.map((f: { id: string }) => f.id)).toEqual([a.frameworkId]);
    let cursor: string | undefined;
    const seen: string[] = [];
    do {
      const page = await m.api.operator('GET', `/frameworks?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.body.frameworks.map((f: { id: string }) => f.id));
      cursor = page.body.cursor;
    } while (cursor);
    expect(seen).toHaveLength(2);
    expect((await m.api.operator('GET', '/frameworks?status=odd')).status).toBe(400);
    expect((await m.api.operator('GET', `/frameworks/${FRAMEWORK_ID}`)).status).toBe(404);
    expect((await m.api.operator('POST', `/frameworks/${FRAMEWORK_ID}/teardown`)).status).toBe(404);
    expect((await m.call('GET', '/api/v1/frameworks', { token: FRAMEWORK })).status).toBe(403);
    expect((await m.call('GET', '/api/v1/frameworks')).status).toBe(401);
  });
});

describe('GET /api/v1/master', () => {
  it('counts frameworks by status as the last scanning sweep judged them, in the one read of master', async () => {
    const { m, fw } = await started();
    const a = (await fw.register({ name: 'a' })).body;
    await fw.register({ name: 'b' });
    await m.api.operator('POST', `/frameworks/${a.frameworkId}/teardown`);
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep();
    expect((await m.api.operator('GET', '/master')).body.frameworkCounts).toEqual({ active: 1, disconnected: 0, completed: 1 });
  });
});

describe('store trouble', () => {
  it('a write whose outcome is unknown is a 2xx only when the record holds the request id; otherwise 503', async () => {
    const inner = createMemoryStore();
    let fail: 'applied' | 'lost' | undefined;
    const store: Store = {
      ...inner,
      get: (k) => inner.get(k),
      list: (p, o) => inner.list(p, o),
      async commit(writes: Write[]) {
        const mode = writes.some((w) => w.key.startsWith('frameworks/')) ? fail : undefined;
        fail = undefined;
        if (mode === 'lost') throw new StoreUnavailableError('timed out', { outcome: 'unknown' });
        const versions = await inner.commit(writes);
        if (mode === 'applied') throw new StoreUnavailableError('timed out', { outcome: 'unknown' });
        return versions;
      },
    };
    const { m, fw } = await started({ store });
    fail = 'applied';
    const applied = await fw.register();
    expect(applied.status).toBe(201);
    fail = 'lost';
    const lost = await fw.register({ name: 'lost' });
    expect(lost.status).toBe(503);
    expect(lost.headers.get('retry-after')).toBeTruthy();
    expect((await m.api.operator('GET', '/frameworks')).body.frameworks).toHaveLength(1);
  });
});

describe('OpenAPI', () => {
  it('real answers parse with the documented shapes', async () => {
    const { m, fw } = await started();
    const registered = frameworkRegisteredShape.parse((await fw.register({ name: 'marathon', roles: ['a'] })).body);
    frameworkHeartbeatShape.parse((await fw.heartbeat(registered.frameworkId, registered.secret, { epoch: registered.epoch })).body);
    frameworkReregisteredShape.parse((await fw.reregister(registered.frameworkId, registered.secret, { rotateSecret: true })).body);
    frameworkPageShape.parse((await m.api.operator('GET', '/frameworks')).body);
    frameworkShape.parse((await m.api.operator('POST', `/frameworks/${registered.frameworkId}/teardown`)).body);
    errorShape.parse((await m.api.operator('GET', `/frameworks/${FRAMEWORK_ID}`)).body);
  });
});
