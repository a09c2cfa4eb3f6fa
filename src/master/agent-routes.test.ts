// The agent protocol over HTTP, driven as DESIGN.md's "HTTP API (v1)" writes it.
import { describe, expect, it } from 'vitest';
import { JOIN, JOIN_RACK_9, OPERATOR, testMaster } from '../../test/support/master.ts';
import { dump, expectError, failover, registerAgent, serve, servingMaster, type TestMaster } from '../../test/support/master-http.ts';

const CHOSEN_ID = '3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f';
const CHOSEN_SECRET = 'A'.repeat(20) + 'b-_'.repeat(5) + 'c'.repeat(20); // 55 base64url characters
const OTHER_SECRET = 'Z'.repeat(43);

const agentPath = (id: string, action = '') => `/api/v1/agents/${id}${action ? `/${action}` : ''}`;
const leave = (m: TestMaster, id: string, token: string) => m.call('DELETE', agentPath(id), { token });
const record = async (m: TestMaster, id: string) => (await m.store.get<any>(`agents/${id}`))?.value;

describe('bounded registration', () => {
  it('refuses an agent whose info is over 4 KiB with 400, and writes nothing', async () => {
    const m = await servingMaster();
    const before = await dump(m.store);
    const attributes = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, 'v'.repeat(600)]));
    expectError(await m.api.register({ hostname: 'big', attributes }), 400, 'bad_request');
    expect(await dump(m.store)).toEqual(before);
    const fits = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'v'.repeat(600)]));
    expect((await m.api.register({ hostname: 'fits', attributes: fits })).status).toBe(201);
  });

  it('rate-limits registrations per join-token label with 429 and Retry-After', async () => {
    const m = await servingMaster({ registrationRateLimit: { count: 3, per: 10_000 } });
    for (let i = 0; i < 3; i++) expect((await m.api.register({ hostname: `h${i}` })).status).toBe(201);
    const limited = await m.api.register({ hostname: 'h3' });
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another label has its own budget; time refills this one.
    expect((await m.call('POST', '/api/v1/agents', { token: JOIN_RACK_9, body: { hostname: 'r9' } })).status).toBe(201);
    m.clock.advance(Number(limited.headers.get('retry-after')) * 1000);
    expect((await m.api.register({ hostname: 'h3' })).status).toBe(201);
  });

  it('refuses new agents beyond the maximum with 429 registry-full; known agents still re-register', async () => {
    const m = await servingMaster({ policy: { maxAgents: 2 } });
    const a = await registerAgent(m);
    await registerAgent(m);
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep(); // the sweep counts the admitted agents
    const full = await m.api.register({ hostname: 'third' });
    expectError(full, 429, 'registry-full');
    expect(full.headers.get('retry-after')).toBeTruthy();
    expect((await m.api.reregister(a.id, a.secret, { hostname: 'a1' })).status).toBe(200);
  });
});

describe('POST /api/v1/agents (register)', () => {
  it('admits an agent: 201 with a fresh id, a secret, the epoch and the timings', async () => {
    const m = await servingMaster();
    const res = await m.api.register({ hostname: 'a1', port: 5051, resources: { cpus: 4, mem: '8GB' }, attributes: { rack: 'r1' }, version: '1.0' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      agentId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/),
      epoch: 1,
      heartbeatIntervalSeconds: 15,
      agentTimeoutSeconds: 75,
      ticket: expect.any(String), // for the first heartbeat (rule 13)
    });
    const stored = await record(m, res.body.agentId);
    expect(stored).toMatchObject({
      id: res.body.agentId,
      status: 'admitted',
      epoch: 1,
      info: { hostname: 'a1', port: 5051, resources: { cpus: 4, mem: '8GB' }, attributes: { rack: 'r1' }, version: '1.0' },
      events: [{ type: 'admitted', by: 'join', at: m.clock.now() }],
    });
  });

  it('stores only a hash of the secret, never the secret itself', async () => {
    const m = await servingMaster();
    const { secret, id } = await registerAgent(m);
    const stored = await record(m, id);
    expect(stored.secretHash).toMatch(/^sha256:/);
    expect(stored.secretHash).not.toContain(secret);
    expect(JSON.stringify(await dump(m.store))).not.toContain(secret);
  });

  it('gives every registration a new id and secret', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const b = await registerAgent(m);
    expect(a.id).not.toBe(b.id);
    expect(a.secret).not.toBe(b.secret);
  });

  it('is idempotent for an agent-chosen id and secret: the same 201 twice, one record', async () => {
    const m = await servingMaster();
    const body = { hostname: 'a1', agentId: CHOSEN_ID, secret: CHOSEN_SECRET };
    const first = await m.api.register(body);
    const before = await dump(m.store);
    const second = await m.api.register(body);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(first.body).toMatchObject({ agentId: CHOSEN_ID, secret: CHOSEN_SECRET });
    expect(await dump(m.store)).toEqual(before);
    expect((await dump(m.store)).filter((i) => i.key.startsWith('agents/'))).toHaveLength(1);
  });

  it('is idempotent under concurrent retries too: every one 201, one record, one admitted event', async () => {
    const m = await servingMaster();
    const body = { hostname: 'a1', agentId: CHOSEN_ID, secret: CHOSEN_SECRET };
    const answers = await Promise.all(Array.from({ length: 5 }, () => m.api.register(body)));
    for (const res of answers) expect(res.status).toBe(201);
    expect(new Set(answers.map((r) => JSON.stringify(r.body))).size).toBe(1);
    const stored = await record(m, CHOSEN_ID);
    expect(stored.events.filter((e: { type: string }) => e.type === 'admitted')).toHaveLength(1);
  });

  it('refuses the same chosen id with another secret (403) and changes nothing', async () => {
    const m = await servingMaster();
    await registerAgent(m, { hostname: 'a1', agentId: CHOSEN_ID, secret: CHOSEN_SECRET });
    const before = await dump(m.store);
    expectError(await m.api.register({ hostname: 'a1', agentId: CHOSEN_ID, secret: OTHER_SECRET }), 403, 'forbidden');
    expect(await dump(m.store)).toEqual(before);
  });

  it('treats a chosen id case-insensitively, as the same agent', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m, { hostname: 'a1', agentId: CHOSEN_ID.toUpperCase(), secret: CHOSEN_SECRET });
    expect(a.id).toBe(CHOSEN_ID);
    expectError(await m.api.register({ hostname: 'a1', agentId: CHOSEN_ID, secret: OTHER_SECRET }), 403, 'forbidden');
    const hb = await m.api.heartbeat(CHOSEN_ID.toUpperCase(), CHOSEN_SECRET, { epoch: a.epoch });
    expect(hb.status).toBe(200);
  });

  it.each([
    ['only agentId', { hostname: 'a1', agentId: CHOSEN_ID }, 'secret'],
    ['only secret', { hostname: 'a1', secret: CHOSEN_SECRET }, 'secret'],
    ['an agentId that is no UUID', { hostname: 'a1', agentId: 'agent-1', secret: CHOSEN_SECRET }, 'agentId'],
    ['a secret shorter than 32 bytes', { hostname: 'a1', agentId: CHOSEN_ID, secret: 'A'.repeat(42) }, 'secret'],
    ['a secret that is not base64url', { hostname: 'a1', agentId: CHOSEN_ID, secret: `${'A'.repeat(43)}+/=` }, 'secret'],
    ['no hostname', { port: 5051 }, 'hostname'],
    ['an empty hostname', { hostname: '' }, 'hostname'],
    ['a hostname that is a number', { hostname: 42 }, 'hostname'],
    ['a port that is a string', { hostname: 'a1', port: '5051' }, 'port'],
    ['a port out of range', { hostname: 'a1', port: 70000 }, 'port'],
    ['a fractional port', { hostname: 'a1', port: 50.5 }, 'port'],
    ['resources that are a list', { hostname: 'a1', resources: [1, 2] }, 'resources'],
    ['a resource that is an object', { hostname: 'a1', resources: { cpus: { n: 1 } } }, 'resources'],
    ['an attribute that is a number', { hostname: 'a1', attributes: { rack: 1 } }, 'attributes'],
    ['a version that is a number', { hostname: 'a1', version: 1 }, 'version'],
    ['a machineId that is a boolean', { hostname: 'a1', machineId: true }, 'machineId'],
    ['a machineId over 256 bytes', { hostname: 'a1', machineId: 'é'.repeat(129) }, 'machineId'],
    ['a machineId that is not well-formed text', { hostname: 'a1', machineId: 'm-\ud800' }, 'machineId'],
  ])('refuses %s with 400 naming the field, and writes nothing', async (_, body, field) => {
    const m = await servingMaster();
    const before = await dump(m.store);
    const res = await m.api.register(body);
    expectError(res, 400, 'bad_request');
    expect(res.body.message).toContain(field);
    expect(await dump(m.store)).toEqual(before);
  });

  it('ignores unknown fields', async () => {
    const m = await servingMaster();
    const { id } = await registerAgent(m, { hostname: 'a1', colour: 'blue', info: { nested: true } });
    const stored = await record(m, id);
    expect(JSON.stringify(stored)).not.toContain('colour');
    expect(stored.info).toEqual({ hostname: 'a1', port: 5051, resources: {}, attributes: {}, version: '' });
  });

  it.each([
    ['malformed JSON', '{"hostname": "a1"'],
    ['a JSON array', '[{"hostname": "a1"}]'],
    ['a JSON string', '"a1"'],
    ['JSON null', 'null'],
  ])('refuses %s with 400', async (_, raw) => {
    const m = await servingMaster();
    expectError(await m.call('POST', '/api/v1/agents', { token: JOIN, raw }), 400, 'bad_request');
  });

  it('refuses a body over 32 KiB with 413', async () => {
    const m = await servingMaster();
    const res = await m.api.register({ hostname: 'a1', attributes: { padding: 'x'.repeat(33 * 1024) } });
    expectError(res, 413, 'payload_too_large');
    expect((await dump(m.store)).filter((i) => i.key.startsWith('agents/'))).toHaveLength(0);
  });

  it('refuses missing credentials (401), a wrong token (401) and the operator token (403)', async () => {
    const m = await servingMaster();
    expectError(await m.call('POST', '/api/v1/agents', { body: { hostname: 'a1' } }), 401, 'unauthorized');
    expectError(await m.call('POST', '/api/v1/agents', { token: 'not-the-join-token', body: { hostname: 'a1' } }), 401, 'unauthorized');
    const basic = await m.app.request('/api/v1/agents', { method: 'POST', headers: { authorization: `Basic ${JOIN}` }, body: '{"hostname":"a1"}' });
    expect(basic.status).toBe(401);
    expectError(await m.call('POST', '/api/v1/agents', { token: OPERATOR, body: { hostname: 'a1' } }), 403, 'forbidden');
    expect((await dump(m.store)).filter((i) => i.key.startsWith('agents/'))).toHaveLength(0);
  });

  it('answers 503 with Retry-After before the first sweep, and admits after it', async () => {
    const m = testMaster();
    const res = await m.api.register();
    expectError(res, 503, 'unavailable');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await dump(m.store)).toEqual([]);
    await m.sweep();
    expect((await m.api.register()).status).toBe(201);
  });

  it('refuses to register a chosen id again once it is gone (410)', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m, { hostname: 'a1', agentId: CHOSEN_ID, secret: CHOSEN_SECRET });
    await m.api.operator('POST', `/agents/${a.id}/gone`);
    const before = await dump(m.store);
    expectError(await m.api.register({ hostname: 'a1', agentId: CHOSEN_ID, secret: CHOSEN_SECRET }), 410, 'gone');
    expect(await dump(m.store)).toEqual(before);
  });

  it('marks the older record of a reinstalled machine gone, with the reason', async () => {
    const m = await servingMaster();
    const old = await registerAgent(m, { hostname: 'a1', machineId: 'm-1' });
    const fresh = await registerAgent(m, { hostname: 'a1', machineId: 'm-1', previousSecret: old.secret });
    expect(fresh.id).not.toBe(old.id);
    const before = await record(m, old.id);
    expect(before.status).toBe('gone');
    expect(before.events.at(-1)).toMatchObject({ type: 'gone', reason: expect.stringContaining(fresh.id) });
    expectError(await m.api.heartbeat(old.id, old.secret, { epoch: old.epoch }), 410, 'gone');
    expect((await m.api.heartbeat(fresh.id, fresh.secret, { epoch: fresh.epoch })).status).toBe(200);
  });
});

describe('POST /api/v1/agents/{agentId}/reregister', () => {
  it('re-admits an agent in the current epoch: 200 with its id, the epoch and timings, and no secret', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const epoch = await failover(m);
    const res = await m.api.reregister(a.id, a.secret, { hostname: 'a1-renamed' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ agentId: a.id, epoch, heartbeatIntervalSeconds: 15, agentTimeoutSeconds: 75, ticket: expect.any(String) });
    expect(await record(m, a.id)).toMatchObject({ epoch, status: 'admitted', info: { hostname: 'a1-renamed' } });
    expect((await m.api.heartbeat(a.id, a.secret, { epoch })).status).toBe(200);
  });

  it('rotates the secret on request: the new one works, the old one gets 401', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const res = await m.api.reregister(a.id, a.secret, { hostname: 'a1', rotateSecret: true });
    expect(res.status).toBe(200);
    expect(res.body.secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(res.body.secret).not.toBe(a.secret);
    expect(JSON.stringify(await dump(m.store))).not.toContain(res.body.secret);
    expectError(await m.api.heartbeat(a.id, a.secret, { epoch: res.body.epoch }), 401, 'unauthorized');
    expectError(await m.api.reregister(a.id, a.secret), 401, 'unauthorized');
    expect((await m.api.heartbeat(a.id, res.body.secret, { epoch: res.body.epoch })).status).toBe(200);
  });

  it('makes an unreachable agent reachable again', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    await serve(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval);
    expect((await record(m, a.id)).status).toBe('unreachable');
    const res = await m.api.reregister(a.id, a.secret);
    expect(res.status).toBe(200);
    const stored = await record(m, a.id);
    expect(stored.status).toBe('admitted');
    expect(stored.unreachableAt).toBeUndefined();
    expect(stored.events.at(-1)).toMatchObject({ type: 'reachable' });
  });

  it('refuses an unknown id (404), a gone agent (410), a wrong secret (401) and join or operator tokens (403)', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    expectError(await m.api.reregister(CHOSEN_ID, a.secret), 404, 'not_found');
    expectError(await m.api.reregister(a.id, OTHER_SECRET), 401, 'unauthorized');
    expectError(await m.api.reregister(a.id, JOIN), 403, 'forbidden');
    expectError(await m.api.reregister(a.id, OPERATOR), 403, 'forbidden');
    expectError(await m.call('POST', agentPath(a.id, 'reregister'), { body: { hostname: 'a1' } }), 401, 'unauthorized');
    expect((await m.api.operator('POST', `/agents/${a.id}/gone`)).status).toBe(200);
    const before = await dump(m.store);
    expectError(await m.api.reregister(a.id, a.secret), 410, 'gone');
    expect(await dump(m.store)).toEqual(before);
  });

  it('validates the body as registration does', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const before = await dump(m.store);
    expectError(await m.api.reregister(a.id, a.secret, {}), 400, 'bad_request');
    const res = await m.api.reregister(a.id, a.secret, { hostname: 'a1', rotateSecret: 'yes' });
    expectError(res, 400, 'bad_request');
    expect(res.body.message).toContain('rotateSecret');
    expect(await dump(m.store)).toEqual(before);
  });
});

describe('POST /api/v1/agents/{agentId}/heartbeat', () => {
  it('accepts a heartbeat in the current epoch with the timings and the instructions', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ epoch: a.epoch, heartbeatIntervalSeconds: 15, agentTimeoutSeconds: 75, deactivated: false, ticket: expect.any(String) });
  });

  it('writes lastSeenAt at most once per granularity', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const agents = async () => (await dump(m.store)).filter((item) => item.key.startsWith('agents/'));
    const before = await agents();
    m.clock.advance(m.policy.heartbeatInterval);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })).status).toBe(200);
    expect(await agents()).toEqual(before);
    m.clock.advance(m.policy.livenessGranularity);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })).status).toBe(200);
    expect((await record(m, a.id)).lastSeenAt).toBe(m.clock.now());
  });

  it('keeps a heartbeating agent admitted across many sweeps', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    await serve(m, 10 * (m.policy.agentTimeout + m.policy.livenessGranularity), [a]);
    expect((await record(m, a.id)).status).toBe('admitted');
  });

  it('answers 409 reregister with the current epoch when the agent names another epoch', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch + 1 });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'reregister', epoch: a.epoch, message: expect.any(String) });
  });

  it('answers 409 reregister after a failover, until the agent re-registers', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const epoch = await failover(m);
    expect(epoch).toBeGreaterThan(a.epoch);
    for (const known of [a.epoch, epoch]) {
      const res = await m.api.heartbeat(a.id, a.secret, { epoch: known });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ error: 'reregister', epoch });
    }
    expect((await m.api.reregister(a.id, a.secret)).status).toBe(200);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch })).status).toBe(200);
  });

  it('answers 409 reregister to an agent marked unreachable', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    await serve(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval);
    expect((await record(m, a.id)).status).toBe('unreachable');
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'reregister', epoch: a.epoch });
  });

  it('answers 410 to a gone agent, 404 to an unknown id, 401 to a wrong secret, 403 to tokens', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    expectError(await m.api.heartbeat(CHOSEN_ID, a.secret, { epoch: a.epoch }), 404, 'not_found');
    expectError(await m.api.heartbeat(a.id, OTHER_SECRET, { epoch: a.epoch }), 401, 'unauthorized');
    expectError(await m.api.heartbeat(a.id, JOIN, { epoch: a.epoch }), 403, 'forbidden');
    expectError(await m.api.heartbeat(a.id, OPERATOR, { epoch: a.epoch }), 403, 'forbidden');
    await m.api.operator('POST', `/agents/${a.id}/gone`);
    expectError(await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch }), 410, 'gone');
  });

  it.each([
    ['no epoch', {}],
    ['an epoch that is a string', { epoch: '1' }],
    ['a negative epoch', { epoch: -1 }],
    ['drained that is a string', { epoch: 1, drained: 'true' }],
  ])('refuses %s with 400', async (_, body) => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const res = await m.api.heartbeat(a.id, a.secret, body);
    expectError(res, 400, 'bad_request');
  });

  it('tells a draining agent the grace period left, counting down on the clock', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    expect((await m.api.operator('POST', `/agents/${a.id}/drain`, { maxGracePeriodSeconds: 60 })).status).toBe(200);
    const first = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    expect(first.body).toMatchObject({ drain: { state: 'draining', remainingSeconds: 60 }, deactivated: false });
    m.clock.advance(15_000);
    const later = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    expect(later.body.drain).toEqual({ state: 'draining', remainingSeconds: 45 });
    m.clock.advance(60_000);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })).body.drain).toEqual({ state: 'draining', remainingSeconds: 0 });
  });

  it('moves draining to drained when the agent reports drained', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    await m.api.operator('POST', `/agents/${a.id}/drain`, {});
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, drained: true });
    expect(res.status).toBe(200);
    expect(res.body.drain).toEqual({ state: 'drained' });
    const stored = await record(m, a.id);
    expect(stored.drain.state).toBe('drained');
    expect(stored.status).toBe('admitted');
    expect(stored.events.at(-1)).toMatchObject({ type: 'drained' });
  });

  it('marks a drained agent gone when the drain said markGone', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    await m.api.operator('POST', `/agents/${a.id}/drain`, { markGone: true });
    const still = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    expect(still.body.drain).toEqual({ state: 'draining' });
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, drained: true })).status).toBe(410); // gone at once: the agent shuts down
    expect((await record(m, a.id)).status).toBe('gone');
    expectError(await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch }), 410, 'gone');
  });

  it('tells a deactivated agent so, and reactivate clears it', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    await m.api.operator('POST', `/agents/${a.id}/deactivate`);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })).body.deactivated).toBe(true);
    await m.api.operator('POST', `/agents/${a.id}/reactivate`);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })).body.deactivated).toBe(false);
  });

  it('answers 503 with Retry-After before the first sweep', async () => {
    const m = testMaster();
    const res = await m.api.heartbeat(CHOSEN_ID, CHOSEN_SECRET, { epoch: 1 });
    expectError(res, 503, 'unavailable');
    expect(res.headers.get('retry-after')).toBeTruthy();
  });
});

describe('DELETE /api/v1/agents/{agentId}', () => {
  it('removes the record: 204 with no body, then 404', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const res = await leave(m, a.id, a.secret);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(await record(m, a.id)).toBeUndefined();
    expectError(await leave(m, a.id, a.secret), 404, 'not_found');
    expectError(await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch }), 404, 'not_found');
  });

  it('answers 410 for a gone agent and keeps its record', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    await m.api.operator('POST', `/agents/${a.id}/gone`);
    expectError(await leave(m, a.id, a.secret), 410, 'gone');
    expect((await record(m, a.id)).status).toBe('gone');
  });

  it('refuses a wrong secret (401), no credentials (401) and tokens (403), removing nothing', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const b = await registerAgent(m, { hostname: 'b1' });
    const before = await dump(m.store);
    expectError(await leave(m, a.id, OTHER_SECRET), 401, 'unauthorized');
    expect([401, 403]).toContain((await leave(m, a.id, b.secret)).status); // one agent acting for another
    expectError(await m.call('DELETE', agentPath(a.id)), 401, 'unauthorized');
    expectError(await leave(m, a.id, JOIN), 403, 'forbidden');
    expectError(await leave(m, a.id, OPERATOR), 403, 'forbidden');
    expect(await dump(m.store)).toEqual(before);
  });
});
