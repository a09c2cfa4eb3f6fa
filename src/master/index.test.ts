// The master app as a whole: /health, unknown routes, the body limit, one error shape, and what a
// store in trouble turns into (DESIGN.md, "HTTP API (v1)").
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { JOIN, OPERATOR, testMaster } from '../../test/support/master.ts';
import {
  dump, expectError, faultyStore, heldMaster, registerAgent, servingMaster, type Agent, type Failure, type TestMaster,
} from '../../test/support/master-http.ts';
import { MAX_BODY_BYTES } from './schemas.ts';

/** A serving master on a store that can be made to fail, with one agent registered. */
async function troubled(): Promise<{ m: TestMaster; store: ReturnType<typeof faultyStore>; a: Agent }> {
  const store = faultyStore(createMemoryStore());
  const m = await servingMaster({ store });
  const a = await registerAgent(m);
  return { m, store, a };
}

type Request = [name: string, call: (m: TestMaster, a: Agent) => ReturnType<TestMaster['call']>];
const requests: Request[] = [
  ['register', (m) => m.api.register({ hostname: 'b1' })],
  ['re-register', (m, a) => m.api.reregister(a.id, a.secret)],
  ['heartbeat', (m, a) => m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })],
  ['leave', (m, a) => m.call('DELETE', `/api/v1/agents/${a.id}`, { token: a.secret })],
  ['list agents', (m) => m.api.operator('GET', '/agents')],
  ['list pending agents', (m) => m.api.operator('GET', '/agents?pending=true')],
  ['get agent', (m, a) => m.api.operator('GET', `/agents/${a.id}`)],
  ['mark gone', (m, a) => m.api.operator('POST', `/agents/${a.id}/gone`, {})],
  ['drain', (m, a) => m.api.operator('POST', `/agents/${a.id}/drain`, {})],
  ['deactivate', (m, a) => m.api.operator('POST', `/agents/${a.id}/deactivate`, {})],
  ['reactivate', (m, a) => m.api.operator('POST', `/agents/${a.id}/reactivate`, {})],
  ['master status', (m) => m.api.operator('GET', '/master')],
  ['release', (m) => m.api.operator('POST', '/master/recovery/release', {})],
  ['export', (m) => m.api.operator('GET', '/registry')],
  ['health', (m) => m.call('GET', '/health')],
];

describe('GET /health', () => {
  it('answers 503 with Retry-After before the first sweep', async () => {
    const m = testMaster();
    const res = await m.call('GET', '/health');
    expectError(res, 503, 'unavailable');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers 200 while serving', async () => {
    const m = await servingMaster();
    const res = await m.call('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'serving', recovery: 'done', held: false, leaseLapsed: false, warnings: [] });
    const operator = await m.call('GET', '/health', { token: OPERATOR });
    expect(operator.body).toMatchObject({ status: 'serving', epoch: 1, recovery: 'done', held: false, warnings: [] });
  });

  it('answers from the master record cached for at most maxClockSkew, not a store read per call', async () => {
    let reads = 0;
    const inner = createMemoryStore();
    const counting = <T>(key: string) => {
      reads++;
      return inner.get<T>(key);
    };
    const m = testMaster({ store: { ...inner, get: counting } });
    await m.sweep();
    reads = 0;
    for (let i = 0; i < 20; i++) expect((await m.call('GET', '/health')).status).toBe(200);
    const cached = reads;
    expect(cached).toBeLessThanOrEqual(1);
    m.clock.advance(m.policy.maxClockSkew + 1);
    await m.call('GET', '/health');
    expect(reads).toBe(cached + 1);
  });

  it('says when the lease has lapsed: no sweeper runs, failure detection has stopped', async () => {
    const m = await servingMaster();
    m.clock.advance(m.policy.masterLease + m.policy.maxClockSkew + 1);
    const res = await m.call('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body.leaseLapsed).toBe(true);
    expect(res.body.warnings.join(' ')).toMatch(/lease has lapsed/);
    await m.sweep();
    expect((await m.call('GET', '/health')).body.leaseLapsed).toBe(false);
  });

  it('says when marking is held; why, and how many, only to operators', async () => {
    const { m } = await heldMaster(3);
    const res = await m.call('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ held: true, recovery: 'held', warnings: ['marking is held'] });
    expect(JSON.stringify(res.body)).not.toMatch(/3 of 3/);
    const operator = await m.call('GET', '/health', { token: OPERATOR });
    expect(operator.body.warnings.join(' ')).toMatch(/marking is held: 3 of 3/);
  });

  it('answers 503 with the reason when the store can no longer be trusted with writes', async () => {
    const inner = createMemoryStore();
    const m = testMaster({ store: { ...inner, problem: () => 'LevelDB write failed (IO error); restart the master to reopen the store' } });
    await m.sweep();
    const res = await m.call('GET', '/health');
    expectError(res, 503, 'unavailable');
    expect(res.body.message).toMatch(/restart the master/);
  });

  it('answers 503 when the store does not answer', async () => {
    const { m, store } = await troubled();
    store.failure = 'unavailable';
    m.clock.advance(m.policy.maxClockSkew + 1); // longer than the master record is cached
    const res = await m.call('GET', '/health');
    expectError(res, 503, 'unavailable');
    expect(res.headers.get('retry-after')).toBeTruthy();
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/agents/x/y'], // beside the dashboard's pages, which answer GET / and /agents
    ['GET', '/api/v2/agents'],
    ['POST', '/health'],
  ])('%s %s is a 404 with the error shape', async (method, path) => {
    const m = await servingMaster();
    expectError(await m.call(method, path), 404, 'not_found');
  });

  it.each([
    ['GET', '/api/v1/nope'],
    ['PUT', '/api/v1/agents'],
    ['PATCH', '/api/v1/agents/3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f'],
    ['GET', '/api/v1/agents/3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f/heartbeat'],
    ['POST', '/api/v1/agents/3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f/explode'],
  ])('%s %s is a 404 for an operator', async (method, path) => {
    const m = await servingMaster();
    expectError(await m.call(method, path, { token: OPERATOR }), 404, 'not_found');
  });
});

describe('the body limit', () => {
  /** A registration body of exactly `bytes` bytes (JSON padded with spaces). */
  const bodyOf = (bytes: number) => {
    const json = JSON.stringify({ hostname: 'a1' });
    return json.slice(0, -1) + ' '.repeat(bytes - json.length) + json.slice(-1);
  };

  it('takes a body of exactly 32 KiB', async () => {
    const m = await servingMaster();
    const raw = bodyOf(MAX_BODY_BYTES);
    expect(Buffer.byteLength(raw)).toBe(32 * 1024);
    expect((await m.call('POST', '/api/v1/agents', { token: JOIN, raw })).status).toBe(201);
  });

  it('refuses one byte more with 413, whether the length is declared or streamed', async () => {
    const m = await servingMaster();
    const raw = bodyOf(MAX_BODY_BYTES + 1);
    expectError(await m.call('POST', '/api/v1/agents', { token: JOIN, raw }), 413, 'payload_too_large');
    const declared = await m.app.request('/api/v1/agents', {
      method: 'POST',
      headers: { authorization: `Bearer ${JOIN}`, 'content-type': 'application/json', 'content-length': String(raw.length) },
      body: raw,
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: 'payload_too_large' });
    const chunks = [raw.slice(0, 20_000), raw.slice(20_000)];
    const streamed = await m.app.request('/api/v1/agents', {
      method: 'POST',
      headers: { authorization: `Bearer ${JOIN}`, 'content-type': 'application/json' },
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await dump(m.store)).filter((i) => i.key.startsWith('agents/'))).toHaveLength(0);
  });

  it('applies to every API endpoint', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const padding = 'x'.repeat(MAX_BODY_BYTES);
    const before = await dump(m.store);
    expectError(await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, padding }), 413, 'payload_too_large');
    expectError(await m.api.reregister(a.id, a.secret, { hostname: 'a1', padding }), 413, 'payload_too_large');
    expectError(await m.api.operator('POST', `/agents/${a.id}/drain`, { padding }), 413, 'payload_too_large');
    expectError(await m.api.operator('POST', '/master/recovery/release', { padding }), 413, 'payload_too_large');
    expect(await dump(m.store)).toEqual(before);
  });
});

describe('agent ids in paths', () => {
  const notIds = [
    ['a name', 'agent-1'],
    ['600 characters', 'x'.repeat(600)],
    ['an escaped path', '..%2Fmaster'],
    ['an emoji', '%F0%9F%90%B3'],
    ['a UUID with one character more', '3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f0'],
  ];

  it.each(notIds)('treats %s as an unknown agent (404) without asking the store', async (_, id) => {
    const { m, store, a } = await troubled();
    store.failure = 'unavailable';
    const calls = [
      m.api.reregister(id, a.secret),
      m.api.heartbeat(id, a.secret, { epoch: a.epoch }),
      m.call('DELETE', `/api/v1/agents/${id}`, { token: a.secret }),
      m.api.operator('GET', `/agents/${id}`),
      m.api.operator('POST', `/agents/${id}/gone`, {}),
      m.api.operator('POST', `/agents/${id}/drain`, {}),
    ];
    for (const res of await Promise.all(calls)) expectError(res, 404, 'not_found');
  });
});

describe('bad input', () => {
  const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
  const garbage = ['{', '}', '[]', '1', '"x"', 'null', 'true', deep, '{"hostname":{"$gt":""}}', '{"__proto__":{"hostname":"a1"}}', '{"epoch":1e309}', '\u0000\uffff'];

  it('is always a 4xx with the error shape and changes nothing, on every endpoint', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const endpoints: [string, string, string][] = [
      ['POST', '/api/v1/agents', JOIN],
      ['POST', `/api/v1/agents/${a.id}/reregister`, a.secret],
      ['POST', `/api/v1/agents/${a.id}/heartbeat`, a.secret],
      ['POST', `/api/v1/agents/${a.id}/drain`, OPERATOR],
      ['POST', `/api/v1/agents/${a.id}/deactivate`, OPERATOR],
      ['POST', `/api/v1/agents/${a.id}/reactivate`, OPERATOR],
      ['POST', '/api/v1/master/recovery/release', OPERATOR],
    ];
    const before = await dump(m.store);
    for (const [method, path, token] of endpoints) {
      for (const raw of garbage) {
        const res = await m.call(method, path, { token, raw });
        // Some of these are valid objects with nothing the endpoint needs; those may pass for an
        // endpoint whose fields are all optional, but never as a 5xx.
        expect(res.status, `${method} ${path} ${raw.slice(0, 40)}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
        if (res.status >= 400) expect(res.body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
        else expect(raw.startsWith('{')).toBe(true);
      }
    }
    // Operator actions with bodies that parse as objects may have acted; agent state must be unhurt.
    const after = await dump(m.store);
    expect(after.find((i) => i.key === 'master')).toEqual(before.find((i) => i.key === 'master'));
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })).status).toBe(200);
  });

  it('that is refused writes nothing', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const before = await dump(m.store);
    const refused = [
      await m.api.register({ hostname: 'b1', port: 'http' }),
      await m.api.register({ hostname: 'b1', agentId: 'nope', secret: 'nope' }),
      await m.api.reregister(a.id, a.secret, { hostname: '' }),
      await m.api.heartbeat(a.id, a.secret, { epoch: 'one' }),
      await m.api.operator('POST', `/agents/${a.id}/drain`, { maxGracePeriodSeconds: 'forever' }),
      await m.api.operator('POST', `/agents/${a.id}/gone`, { reason: { why: 'because' } }),
      await m.api.operator('GET', '/agents?limit=-1'),
      await m.call('POST', '/api/v1/agents', { token: JOIN, raw: '{"hostname":' }),
    ];
    for (const res of refused) expectError(res, 400, 'bad_request');
    expect(await dump(m.store)).toEqual(before);
  });
});

describe('a store in trouble', () => {
  it.each(requests)('%s answers 503 with Retry-After when the store is unavailable, never 2xx', async (_, call) => {
    const { m, store, a } = await troubled();
    const before = await dump(store);
    store.failure = 'unavailable';
    m.clock.advance(m.policy.maxClockSkew + 1); // longer than the master record is cached
    const res = await call(m, a);
    expectError(res, 503, 'unavailable');
    expect(Number(res.headers.get('retry-after'))).toBe(Math.ceil(m.policy.sweepInterval / 1000));
    store.failure = 'none';
    expect(await dump(store)).toEqual(before);
  });

  it.each([
    ['register', (m: TestMaster) => m.api.register({ hostname: 'b1' })],
    ['re-register', (m: TestMaster, a: Agent) => m.api.reregister(a.id, a.secret, { hostname: 'renamed' })],
    ['report drained', (m: TestMaster, a: Agent) => m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, drained: true })],
    ['leave', (m: TestMaster, a: Agent) => m.call('DELETE', `/api/v1/agents/${a.id}`, { token: a.secret })],
    ['mark gone', (m: TestMaster, a: Agent) => m.api.operator('POST', `/agents/${a.id}/gone`, {})],
    ['deactivate', (m: TestMaster, a: Agent) => m.api.operator('POST', `/agents/${a.id}/deactivate`, {})],
  ] as Request[])('%s answers 503 when its write fails, and nothing changes', async (_, call) => {
    const { m, store, a } = await troubled();
    await m.api.operator('POST', `/agents/${a.id}/drain`, {});
    const before = await dump(store);
    for (const failure of ['writes-unavailable', 'lost-then-unknown'] as Failure[]) {
      store.failure = failure;
      const res = await call(m, a);
      expectError(res, 503, 'unavailable');
      expect(res.headers.get('retry-after')).toBeTruthy();
      store.failure = 'none';
      expect(await dump(store), failure).toEqual(before);
    }
  });

  it('answers 2xx after an unknown outcome only when the write is proven applied', async () => {
    const { m, store, a } = await troubled();
    store.failure = 'applied-then-unknown';
    const b = await registerAgent(m, { hostname: 'b1' });
    expect((await m.store.get<any>(`agents/${b.id}`))?.value.status).toBe('admitted');
    const off = await m.api.operator('POST', `/agents/${a.id}/deactivate`, { reason: 'test' });
    expect(off.status).toBe(200);
    expect((await m.store.get<any>(`agents/${a.id}`))?.value.deactivated).toBe(true);
    expect((await m.call('DELETE', `/api/v1/agents/${b.id}`, { token: b.secret })).status).toBe(204);
    expect(await m.store.get(`agents/${b.id}`)).toBeUndefined();
  });

  it('turns an unexpected failure into a 500 without details, and logs it', async () => {
    const inner = createMemoryStore();
    const m = await servingMaster({
      store: {
        ...inner,
        get: async (key) => {
          if (key.startsWith('agents/')) throw new TypeError('adapter bug: secret internals');
          return inner.get(key);
        },
      },
    });
    const res = await m.api.operator('GET', '/agents/3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f');
    expectError(res, 500, 'internal');
    expect(res.body.message).not.toContain('adapter bug');
    expect(m.logs.some((l) => l.message === 'internal error' && String(l.fields?.error).includes('adapter bug'))).toBe(true);
  });
});
