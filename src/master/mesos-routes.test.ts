// The Mesos-compatible endpoints, driven as Mesos tooling drives them: `POST /api/v1` with a JSON call
// and the legacy `GET /master/slaves`, checked against the shapes Mesos' operator API gives.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { JOIN, OPERATOR, testMaster } from '../../test/support/master.ts';
import {
  dump, expectError, failover, faultyStore, registerAgent, serve, servingMaster, type Agent, type TestMaster,
} from '../../test/support/master-http.ts';

const UNKNOWN_ID = '3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f';

const mesos = (m: TestMaster, body: unknown, token = OPERATOR) => m.call('POST', '/api/v1', { token, body });
const slaves = (m: TestMaster, query = '', token = OPERATOR) => m.call('GET', `/master/slaves${query}`, { token });
const rest = async (m: TestMaster, id: string) => (await m.api.operator('GET', `/agents/${id}`)).body;
const on = (a: Agent) => ({ agent_id: { value: a.id } });

async function getAgents(m: TestMaster) {
  const res = await mesos(m, { type: 'GET_AGENTS' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.type).toBe('GET_AGENTS');
  return res.body.get_agents as { agents: any[]; recovered_agents: any[] };
}
const ids = (agents: any[]) => agents.map((a) => (a.agent_info ?? a).id.value).sort();

describe('POST /api/v1 GET_AGENTS', () => {
  it('gives registered agents in the v1 shape: typed resources, text attributes, times in nanoseconds', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m, {
      hostname: 'a1', port: 5051, version: '1.2.3',
      resources: { cpus: 2.5, mem: 1024, ports: '[31000-32000, 33000-33010]', disks: '{ssd1,ssd2}', gpu_model: 'a100' },
      attributes: { rack: 'r1', slot: '01' },
    });
    const registeredAt = (await rest(m, a.id)).registeredAt as number;
    const { agents, recovered_agents } = await getAgents(m);
    expect(recovered_agents).toEqual([]);
    const resources = [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2.5 }, role: '*' },
      { name: 'mem', type: 'SCALAR', scalar: { value: 1024 }, role: '*' },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }, { begin: 33000, end: 33010 }] }, role: '*' },
      { name: 'disks', type: 'SET', set: { item: ['ssd1', 'ssd2'] }, role: '*' },
      // gpu_model: a string with no Mesos resource form, left out
    ];
    expect(agents).toEqual([
      {
        agent_info: {
          id: { value: a.id }, hostname: 'a1', port: 5051, resources,
          attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }, { name: 'slot', type: 'TEXT', text: { value: '01' } }],
        },
        active: true,
        deactivated: false,
        version: '1.2.3',
        registered_time: { nanoseconds: registeredAt * 1_000_000 },
        total_resources: resources,
      },
    ]);
  });

  it('shows deactivated and draining agents inactive, with drain_info as Mesos writes it', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m, { hostname: 'deactivated' });
    const b = await registerAgent(m, { hostname: 'draining' });
    const c = await registerAgent(m, { hostname: 'drained' });
    expect((await mesos(m, { type: 'DEACTIVATE_AGENT', deactivate_agent: on(a) })).status).toBe(200);
    const drain = { type: 'DRAIN_AGENT', drain_agent: { ...on(b), max_grace_period: { nanoseconds: 90_000_000_000 }, mark_gone: true } };
    expect((await mesos(m, drain)).status).toBe(200);
    expect((await mesos(m, { type: 'DRAIN_AGENT', drain_agent: on(c) })).status).toBe(200);
    await m.api.heartbeat(c.id, c.secret, { epoch: c.epoch, drained: true });
    const { agents } = await getAgents(m);
    const by = (id: string) => agents.find((x) => x.agent_info.id.value === id);
    expect(by(a.id)).toMatchObject({ active: false, deactivated: true });
    expect(by(a.id)).not.toHaveProperty('drain_info');
    expect(by(b.id)).toMatchObject({
      active: false, deactivated: true,
      drain_info: { state: 'DRAINING', config: { max_grace_period: { nanoseconds: 90_000_000_000 }, mark_gone: true } },
    });
    expect(by(c.id)).toMatchObject({ active: false, drain_info: { state: 'DRAINED', config: { mark_gone: false } } });
    expect(by(c.id).drain_info.config).not.toHaveProperty('max_grace_period');
  });

  it('lists agents not yet re-registered since a failover in recovered_agents, as Mesos does', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m, { hostname: 'back', resources: { cpus: 1 } });
    const b = await registerAgent(m, { hostname: 'missing', resources: { cpus: 1 } });
    const epoch = await failover(m);
    expect((await m.api.reregister(a.id, a.secret, { hostname: 'back', resources: { cpus: 1 } })).body.epoch).toBe(epoch);
    const during = await getAgents(m);
    expect(ids(during.agents)).toEqual([a.id]);
    // Only agent_info, as Mesos gives for agents recovered from the registry.
    expect(during.recovered_agents).toEqual([
      { id: { value: b.id }, hostname: 'missing', port: 5051, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: '*' }], attributes: [] },
    ]);
    // The window closes with b missing (one of two: under the guard's minimum): b is unreachable, in neither list.
    await serve(m, m.policy.reregisterTimeout + m.policy.sweepInterval, [{ ...a, epoch }]);
    expect((await rest(m, b.id)).status).toBe('unreachable');
    const after = await getAgents(m);
    expect(ids(after.agents)).toEqual([a.id]);
    expect(after.recovered_agents).toEqual([]);
  });

  it('streams a listing too large to build whole, and cuts it off when the store fails part way', async () => {
    const store = faultyStore(createMemoryStore());
    const m = await servingMaster({ store });
    const attributes = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`attribute-${i}`, `value-${i}-${'x'.repeat(20)}`]));
    const agents: Agent[] = [];
    for (let i = 0; i < 160; i++) agents.push(await registerAgent(m, { hostname: `h${i}`, attributes }));
    const whole = await m.app.request('/api/v1', { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}` }, body: '{"type":"GET_AGENTS"}' });
    const text = await whole.text();
    expect(whole.status, text.slice(0, 200)).toBe(200);
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(ids(JSON.parse(text).get_agents.agents)).toEqual(agents.map((a) => a.id).sort());

    // In recovery there are two passes: the recovered agents (already past the whole-answer size), then the rest.
    await failover(m);
    store.listsBeforeFailure = 1;
    const cut = await m.app.request('/api/v1', { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}` }, body: '{"type":"GET_AGENTS"}' });
    expect(cut.status).toBe(200);
    await expect(cut.text()).rejects.toThrow();
    expect(m.logs.some((l) => l.message === 'mesos listing cut short')).toBe(true);
  });

  it('answers 503 when the store fails before anything is sent', async () => {
    const store = faultyStore(createMemoryStore());
    const m = await servingMaster({ store });
    await registerAgent(m);
    store.failure = 'unavailable';
    expectError(await mesos(m, { type: 'GET_AGENTS' }), 503, 'unavailable');
    expectError(await slaves(m), 503, 'unavailable');
  });
});

describe('POST /api/v1 GET_HEALTH and GET_MASTER', () => {
  it('is healthy while a sweeper serves, and not once the lease has lapsed', async () => {
    const m = await servingMaster();
    expect((await mesos(m, { type: 'GET_HEALTH' })).body).toEqual({ type: 'GET_HEALTH', get_health: { healthy: true } });
    m.clock.advance(m.policy.masterLease + m.policy.maxClockSkew + 1);
    expect((await mesos(m, { type: 'GET_HEALTH' })).body).toEqual({ type: 'GET_HEALTH', get_health: { healthy: false } });
  });

  it('names the master by its epoch, as reached, with its election time', async () => {
    const m = await servingMaster();
    const master = (await m.store.get<any>('master'))!.value;
    const res = await mesos(m, { type: 'GET_MASTER' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      type: 'GET_MASTER',
      get_master: {
        master_info: { id: `epoch-${master.epoch}`, ip: 0, port: 80, hostname: 'localhost', address: { hostname: 'localhost', port: 80 } },
        start_time: master.startedAt / 1000,
        elected_time: master.startedAt / 1000,
      },
    });
    const epoch = await failover(m);
    expect((await mesos(m, { type: 'GET_MASTER' })).body.get_master.master_info.id).toBe(`epoch-${epoch}`);
  });
});

describe('POST /api/v1 agent actions', () => {
  it('MARK_AGENT_GONE answers 200 with no body; the REST API shows the agent gone, GET_AGENTS no longer lists it', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const b = await registerAgent(m, { hostname: 'b' });
    const res = await mesos(m, { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: a.id.toUpperCase() } } });
    expect(res.status).toBe(200);
    expect(res.body).toBeUndefined();
    const record = await rest(m, a.id);
    expect(record.status).toBe('gone');
    expect(record.events.at(-1)).toMatchObject({ type: 'gone', by: 'alice' });
    expect(ids((await getAgents(m)).agents)).toEqual([b.id]);
    // Once, as in the REST API: again is a 200 with nothing more written; other actions on it are 410.
    expect((await mesos(m, { type: 'MARK_AGENT_GONE', mark_agent_gone: on(a) })).status).toBe(200);
    expect((await rest(m, a.id)).events.filter((e: { type: string }) => e.type === 'gone')).toHaveLength(1);
    expectError(await mesos(m, { type: 'DRAIN_AGENT', drain_agent: on(a) }), 410, 'gone');
  });

  it('DEACTIVATE_AGENT, REACTIVATE_AGENT and DRAIN_AGENT change what the REST API shows', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    expect((await mesos(m, { type: 'DEACTIVATE_AGENT', deactivate_agent: on(a) })).status).toBe(200);
    expect((await rest(m, a.id)).deactivated).toBe(true);
    expect((await mesos(m, { type: 'REACTIVATE_AGENT', reactivate_agent: on(a) })).status).toBe(200);
    expect((await rest(m, a.id)).deactivated).toBe(false);
    const now = m.clock.now();
    const drain = { type: 'DRAIN_AGENT', drain_agent: { ...on(a), max_grace_period: { nanoseconds: '60000000000' }, mark_gone: true } };
    expect((await mesos(m, drain)).status).toBe(200);
    expect((await rest(m, a.id)).drain).toEqual({ state: 'draining', deadline: now + 60_000, markGone: true });
    expect((await mesos(m, { type: 'DRAIN_AGENT', drain_agent: { ...on(a), max_grace_period: { seconds: 5 } } })).status).toBe(200);
    expect((await rest(m, a.id)).drain).toEqual({ state: 'draining', deadline: now + 5_000 });
  });

  it('refuses unknown agents with 404, ids that are no UUIDs too', async () => {
    const m = await servingMaster();
    const before = await dump(m.store);
    expectError(await mesos(m, { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: UNKNOWN_ID } } }), 404, 'not_found');
    expectError(await mesos(m, { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: 'c0ffee-S0' } } }), 404, 'not_found');
    expect(await dump(m.store)).toEqual(before);
  });
});

describe('POST /api/v1 refusals', () => {
  it('refuses an unsupported call with 400, naming the supported ones', async () => {
    const m = await servingMaster();
    const res = await mesos(m, { type: 'SUBSCRIBE' });
    expectError(res, 400, 'unsupported_call');
    for (const t of ['GET_HEALTH', 'GET_MASTER', 'GET_AGENTS', 'GET_FRAMEWORKS', 'MARK_AGENT_GONE', 'DEACTIVATE_AGENT', 'REACTIVATE_AGENT', 'DRAIN_AGENT']) {
      expect(res.body.message).toContain(t);
    }
  });

  it.each([
    ['no type', {}, 'type'],
    ['a type that is no string', { type: 7 }, 'type'],
    ['MARK_AGENT_GONE without its message', { type: 'MARK_AGENT_GONE' }, 'mark_agent_gone'],
    ['an agent_id without a value', { type: 'DEACTIVATE_AGENT', deactivate_agent: { agent_id: {} } }, 'agent_id'],
    ['negative nanoseconds', { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: UNKNOWN_ID }, max_grace_period: { nanoseconds: -1 } } }, 'max_grace_period'],
    ['both seconds and nanoseconds', { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: UNKNOWN_ID }, max_grace_period: { nanoseconds: 1, seconds: 1 } } }, 'max_grace_period'],
    ['a grace period over a year', { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: UNKNOWN_ID }, max_grace_period: { seconds: 366 * 86_400 } } }, 'max_grace_period'],
    ['mark_gone that is no boolean', { type: 'DRAIN_AGENT', drain_agent: { agent_id: { value: UNKNOWN_ID }, mark_gone: 'yes' } }, 'mark_gone'],
  ])('refuses %s with a 400 naming the field, changing nothing', async (_, body, field) => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const before = await dump(m.store);
    const res = await mesos(m, JSON.parse(JSON.stringify(body).replaceAll(UNKNOWN_ID, a.id)));
    expectError(res, 400, 'bad_request');
    expect(res.body.message).toContain(field);
    expect(await dump(m.store)).toEqual(before);
  });

  it('refuses a body that is no JSON object, and calls or answers in protobuf', async () => {
    const m = await servingMaster();
    expectError(await m.call('POST', '/api/v1', { token: OPERATOR, raw: '{"type":' }), 400, 'bad_request');
    expectError(await m.call('POST', '/api/v1', { token: OPERATOR, raw: '["GET_AGENTS"]' }), 400, 'bad_request');
    const protobuf = await m.app.request('/api/v1', {
      method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/x-protobuf' }, body: 'x',
    });
    expect(protobuf.status).toBe(415);
    const accept = await m.app.request('/api/v1', {
      method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', accept: 'application/x-protobuf' }, body: '{"type":"GET_HEALTH"}',
    });
    expect(accept.status).toBe(406);
  });

  it('takes the operator token only: none is a 401, a join token a 403', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const before = await dump(m.store);
    expectError(await m.call('POST', '/api/v1', { body: { type: 'GET_AGENTS' } }), 401, 'unauthorized');
    expectError(await mesos(m, { type: 'MARK_AGENT_GONE', mark_agent_gone: on(a) }, JOIN), 403, 'forbidden');
    expectError(await mesos(m, { type: 'GET_AGENTS' }, a.secret), 401, 'unauthorized');
    expectError(await m.call('GET', '/master/slaves'), 401, 'unauthorized');
    expectError(await slaves(m, '', JOIN), 403, 'forbidden');
    expect(await dump(m.store)).toEqual(before);
  });

  it('leaves the REST routes under /api/v1 to themselves', async () => {
    const m = testMaster();
    await m.sweep();
    const a = await registerAgent(m); // POST /api/v1/agents with a join token
    expect((await m.api.operator('GET', '/agents')).body.agents.map((x: { id: string }) => x.id)).toEqual([a.id]);
    expect((await m.api.operator('GET', '/master')).status).toBe(200);
    expectError(await m.call('GET', '/api/v1', { token: OPERATOR }), 404, 'not_found');
  });
});

describe('GET /master/slaves', () => {
  it('gives slaves in the legacy shape, and recovered slaves after a failover', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m, { hostname: 'a1', port: 5052, version: '1.0', resources: { cpus: 4, mem: 2048, ports: '[31000-32000]' }, attributes: { rack: 'r1' } });
    const b = await registerAgent(m, { hostname: 'b1' });
    const registeredAt = (await rest(m, a.id)).registeredAt as number;
    const res = await slaves(m);
    expect(res.status).toBe(200);
    expect(res.body.recovered_slaves).toEqual([]);
    expect(res.body.slaves.find((s: { id: string }) => s.id === a.id)).toEqual({
      id: a.id, hostname: 'a1', port: 5052, resources: { cpus: 4, mem: 2048, ports: '[31000-32000]' }, attributes: { rack: 'r1' },
      active: true, deactivated: false, registered_time: registeredAt / 1000, version: '1.0',
    });

    const epoch = await failover(m);
    await m.api.reregister(a.id, a.secret, { hostname: 'a1', port: 5052 });
    const after = await slaves(m);
    expect(after.body.slaves.map((s: { id: string }) => s.id)).toEqual([a.id]);
    expect(after.body.recovered_slaves).toEqual([{ id: b.id, hostname: 'b1', port: 5051, resources: {}, attributes: {} }]);
    expect((await rest(m, a.id)).epoch).toBe(epoch);

    // slave_id picks one, as in Mesos; one that names no agent gives empty lists.
    expect((await slaves(m, `?slave_id=${b.id}`)).body).toEqual({ slaves: [], recovered_slaves: after.body.recovered_slaves });
    expect((await slaves(m, `?slave_id=${a.id}`)).body.slaves.map((s: { id: string }) => s.id)).toEqual([a.id]);
    expect((await slaves(m, `?slave_id=${UNKNOWN_ID}`)).body).toEqual({ slaves: [], recovered_slaves: [] });
    expect((await slaves(m, '?slave_id=nope')).body).toEqual({ slaves: [], recovered_slaves: [] });
  });
});
