// The Worker and its Registry Durable Object end to end, inside workerd, on the sub-second timings
// of test/workers/bindings.ts: agents over HTTP, the alarm as the sweeper, a restart of the object
// over its storage, and the seed scenario through the Worker with real agent clients.
import { SELF, env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, type Stub } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { createDurableObjectStore } from '../../adapters/durable-objects/index.ts';
import { createAgent } from '../../src/agent/client.ts';
import type { AgentState, StateFile } from '../../src/agent/state.ts';
import { parseDuration } from '../../src/config.ts';
import { leaseLapsed, type MasterRecord } from '../../src/registry/index.ts';
import { eventually, untilTime } from '../support/eventually.ts';
import { runScheduler, type Send as SchedulerSend } from '../support/framework-client.ts';
import { FAST_TIMINGS, FRAMEWORK, JOIN, OPERATOR } from './bindings.ts';

const ORIGIN = 'https://registrar.example';
const HEARTBEAT = parseDuration('heartbeat', FAST_TIMINGS.REGISTRAR_HEARTBEAT_INTERVAL);
const MAX_CLOCK_SKEW = parseDuration('skew', FAST_TIMINGS.REGISTRAR_MAX_CLOCK_SKEW);
const LEASE = parseDuration('lease', FAST_TIMINGS.REGISTRAR_MASTER_LEASE);
const SWEEP_INTERVAL = parseDuration('sweep interval', FAST_TIMINGS.REGISTRAR_SWEEP_INTERVAL);

type Send = (request: Request) => Promise<Response>;

/** HTTP calls to the master, through the Worker (SELF) or straight to one object. */
function http(send: Send) {
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await send(new Request(`${ORIGIN}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }));
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
  return {
    call,
    register: (hostname: string) => call('POST', '/api/v1/agents', JOIN, { hostname }),
    heartbeat: (id: string, secret: string, epoch: number) => call('POST', `/api/v1/agents/${id}/heartbeat`, secret, { epoch }),
    operator: (method: string, path: string, body?: unknown) => call(method, `/api/v1${path}`, OPERATOR, body),
    agents: async () => (await call('GET', '/api/v1/agents?limit=1000', OPERATOR)).body.agents as AgentView[],
  };
}

interface AgentView {
  id: string;
  status: string;
  epoch: number;
  info: { hostname: string };
}

const alarmOf = (stub: Stub) => runInDurableObject(stub, (_, state) => state.storage.getAlarm());
const masterOf = (stub: Stub) =>
  runInDurableObject(stub, async (_, state) => (await createDurableObjectStore(state.storage).get<MasterRecord>('master'))?.value);

/**
 * No sweeper: the object's instance stops sweeping (its alarm handler does nothing and arms nothing)
 * and its alarm is deleted. An alarm already in flight may still arm one more, which then finds the
 * handler stopped; so it waits until none is set. A new instance (after eviction) sweeps again
 * when an alarm is set.
 */
async function stopSweeper(stub: Stub): Promise<void> {
  await runInDurableObject(stub, async (instance, state) => {
    (instance as { alarm(): Promise<void> }).alarm = async () => {};
    await state.storage.deleteAlarm();
  });
  await eventually('no alarm set once the sweeper is stopped', () => alarmOf(stub), (alarm) => alarm === null);
}

const used: Stub[] = [];
/** A Registry object of its own, reached without the Worker. */
const freshRegistry = () => {
  const stub = env.REGISTRY.get(env.REGISTRY.idFromName(crypto.randomUUID()));
  used.push(stub);
  return { stub, api: http((request) => stub.fetch(request)) };
};
// Alarms outlive a test (they ignore storage isolation): stop every sweeper a test started.
afterEach(async () => {
  for (const stub of used.splice(0)) await stopSweeper(stub);
});

describe('the Registry Durable Object', () => {
  it('answers the first request only after the first sweep has written the master record', async () => {
    const { api } = freshRegistry();
    const master = await api.operator('GET', '/master');
    expect(master.status).toBe(200);
    expect(master.body.epoch).toBeGreaterThanOrEqual(1);
    expect(master.body.recovery.state).toBe('done');
  });

  it('admits agents and takes their heartbeats over HTTP; a restart keeps the registry, the epoch and the sweeper', async () => {
    const { stub, api } = freshRegistry();
    const a = await api.register('a1');
    const b = await api.register('b1');
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.heartbeatIntervalSeconds).toBe(HEARTBEAT / 1000);
    for (let i = 0; i < 3; i++) {
      expect((await api.heartbeat(a.body.agentId, a.body.secret, a.body.epoch)).status).toBe(200);
      expect((await api.heartbeat(b.body.agentId, b.body.secret, b.body.epoch)).status).toBe(200);
    }
    expect(await alarmOf(stub)).not.toBeNull();

    await evictDurableObject(stub); // a new instance over the same storage
    const again = await api.heartbeat(a.body.agentId, a.body.secret, a.body.epoch);
    expect(again.status).toBe(200);
    expect(again.body.epoch).toBe(a.body.epoch);
    expect((await api.agents()).map((x) => [x.info.hostname, x.status]).sort()).toEqual([['a1', 'admitted'], ['b1', 'admitted']]);
    expect(await alarmOf(stub)).not.toBeNull();
  });

  it('marks an agent that stops heartbeating unreachable through its alarm alone', async () => {
    const { api } = freshRegistry();
    const a = await api.register('quiet');
    expect(a.status).toBe(201);
    const record = await eventually(
      'the silent agent marked unreachable',
      async () => (await api.operator('GET', `/agents/${a.body.agentId}`)).body,
      (r) => r.status === 'unreachable',
    );
    expect(record.events.at(-1).type).toBe('unreachable');
    expect((await api.heartbeat(a.body.agentId, a.body.secret, a.body.epoch)).status).toBe(409);
  });

  it('writes due heartbeats to its store as patches in a shared log row, leaving the record row as registration wrote it', async () => {
    const { stub, api } = freshRegistry();
    const a = await api.register('patched');
    expect(a.status).toBe(201);
    const { agentId, secret, epoch } = a.body;
    let ticket: string | undefined = a.body.ticket;
    // Heartbeats with the latest ticket until one was due (a granularity on) and moved lastSeenAt.
    const seen = await eventually(
      'a due heartbeat writing lastSeenAt',
      async () => {
        const hb = await api.call('POST', `/api/v1/agents/${agentId}/heartbeat`, secret, { epoch, ...(ticket ? { ticket } : {}) });
        expect(hb.status).toBe(200);
        ticket = hb.body.ticket ?? ticket;
        return (await api.operator('GET', `/agents/${agentId}`)).body;
      },
      (r) => r.lastSeenAt > r.registeredAt,
    );
    await runInDurableObject(stub, (_, state) => {
      const row = state.storage.sql.exec<{ json: string }>('SELECT json FROM registrar_records WHERE key = ?', `agents/${agentId}`).one();
      expect(JSON.parse(row.json).lastSeenAt).toBe(seen.registeredAt);
      const logged = state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM registrar_patch_log').one().n;
      expect(logged).toBeGreaterThanOrEqual(1);
    });
  });

  it('arms the sweeper again when a request finds no alarm set', async () => {
    const { stub, api } = freshRegistry();
    expect((await api.call('GET', '/health')).status).toBe(200);
    await stopSweeper(stub);
    await evictDurableObject(stub); // a new instance and no alarm set: as after an alarm that gave up its retries
    const before = (await api.operator('GET', '/master')).body; // a request: arms it again
    const armed = await alarmOf(stub);
    expect(armed).not.toBeNull();
    // A sweep less than half an interval after the last one skips its scan (rule 3).
    await untilTime(before.lastSweepAt + SWEEP_INTERVAL / 2, 'the last sweep to be half an interval old');
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = (await api.operator('GET', '/master')).body;
    expect(after.leaseExpiresAt).toBeGreaterThan(before.leaseExpiresAt);
    expect(await alarmOf(stub)).not.toBeNull(); // the alarm re-armed itself
  });
});

describe('the Worker', () => {
  const worker = http((request) => SELF.fetch(request));
  /** The object the Worker routes every request to. */
  const workerRegistry = () => {
    const stub = env.REGISTRY.get(env.REGISTRY.idFromName('registry'));
    used.push(stub);
    return stub;
  };

  it('marks an agent that died while no master ran unreachable after the window, and keeps the live one', { timeout: 60_000 }, async () => {
    const registry = workerRegistry();
    let outage = false;
    /** Heartbeats the master accepted, per agent. */
    const accepted = { live: 0, doomed: 0 };
    const agent = (hostname: 'live' | 'doomed') => {
      const network = (async (input: string | URL | Request, init?: RequestInit) => {
        if (outage) throw new TypeError('network connection lost');
        const request = new Request(input, init);
        const res = await SELF.fetch(request);
        if (res.status === 200 && new URL(request.url).pathname.endsWith('/heartbeat')) accepted[hostname]++;
        return res;
      }) as typeof fetch;
      let saved: AgentState | undefined;
      const state: StateFile = {
        load: async () => saved,
        save: async (next) => {
          saved = next;
        },
      };
      const client = createAgent({ master: ORIGIN, joinToken: JOIN, info: { hostname }, state, fetch: network });
      return { client, exit: client.run() };
    };
    const byHost = (agents: AgentView[], host: string) => agents.find((a) => a.info.hostname === host);

    const live = agent('live');
    const doomed = agent('doomed');
    try {
      await eventually('two agents registered', worker.agents, (agents) => agents.length === 2);
      const firstEpoch = (await worker.operator('GET', '/master')).body.epoch as number;
      await eventually('two heartbeats accepted from each agent', () => ({ ...accepted }), (n) => n.live >= 2 && n.doomed >= 2);

      // The master goes away: nobody reaches it, its sweeper stops, its instance is gone.
      outage = true;
      doomed.client.stop(); // dies for good while no master runs
      await stopSweeper(registry);
      await evictDurableObject(registry);
      // Read inside the object, not through the Worker: a request would arm the sweeper again.
      await eventually(
        'the lease lapsed by more than the clock skew, with no sweeper',
        async () => ({ master: await masterOf(registry), alarm: await alarmOf(registry) }),
        ({ master, alarm }) => alarm === null && master !== undefined && leaseLapsed(master, Date.now(), { maxClockSkew: MAX_CLOCK_SKEW }),
        { within: LEASE + 10_000 },
      );
      outage = false; // the live agent's retries get through; its first request arms the alarm

      const recovering = await eventually('a new epoch', async () => (await worker.operator('GET', '/master')).body, (m) => m.epoch > firstEpoch);
      expect(recovering.recovery.state).toBe('recovering');
      await eventually('the live agent re-registered', worker.agents, (agents) => byHost(agents, 'live')?.epoch === recovering.epoch);
      const after = await eventually('the dead agent marked unreachable', worker.agents, (agents) => byHost(agents, 'doomed')?.status === 'unreachable');
      expect(byHost(after, 'live')?.status).toBe('admitted');
      expect((await worker.operator('GET', '/master')).body.recovery.state).toBe('done');
    } finally {
      outage = true; // stops the live agent's heartbeats reaching the Worker
      live.client.stop();
      await Promise.all([live.exit, doomed.exit]);
    }
  });

  it('answers a ticketed heartbeat itself, as the object would, and never exposes its internal route', async () => {
    workerRegistry();
    const registered = await worker.register('edge-1');
    expect(registered.status).toBe(201);
    const { agentId, secret, epoch } = registered.body;
    const first = await worker.call('POST', `/api/v1/agents/${agentId}/heartbeat`, secret, { epoch });
    expect(first.status).toBe(200);
    expect(first.headers.get('registrar-answered-by')).toBeNull(); // no ticket yet: the object answered
    const again = await worker.call('POST', `/api/v1/agents/${agentId}/heartbeat`, secret, { epoch, ticket: first.body.ticket });
    expect(again.status).toBe(200);
    expect(again.headers.get('registrar-answered-by')).toBe('edge');
    expect(again.body).toEqual(first.body);
    const forged = await worker.call('POST', `/api/v1/agents/${agentId}/heartbeat`, 'x'.repeat(43), { epoch, ticket: first.body.ticket });
    expect(forged.status).toBe(401);
    const internal = await worker.call('GET', '/__registrar/ticket-state');
    expect(internal.status).toBe(404);
    expect(JSON.stringify(internal.body)).not.toMatch(/keys|secret/);
  });

  it('answers 404 as JSON for unknown routes', async () => {
    workerRegistry();
    const res = await worker.call('GET', '/nowhere');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });

  it('answers /metrics in Prometheus text, with its store operations and the registry gauges, and a request id', async () => {
    const { stub, api } = freshRegistry();
    expect((await api.register('m1')).status).toBe(201);
    const res = await stub.fetch(new Request(`${ORIGIN}/metrics`, { headers: { authorization: `Bearer ${OPERATOR}`, 'x-request-id': 'scrape-1' } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('scrape-1');
    const text = await res.text();
    expect(text).toContain('registrar_store_operations_total{adapter="durable-objects",operation="commit",result="ok"}');
    expect(text).toContain('registrar_http_requests_total{method="POST",route="/api/v1/agents",status="201"} 1');
    expect(text).toContain('registrar_master_record_readable 1');
  });

  it('serves the operator endpoints of issue 14 inside workerd: events, the Mesos-compatible API, the OpenAPI document and the dashboard', async () => {
    const { stub, api } = freshRegistry();
    const registered = await api.register('w1');
    expect(registered.status).toBe(201);
    const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${OPERATOR}` }) =>
      stub.fetch(new Request(`${ORIGIN}${path}`, { headers, redirect: 'manual' }));
    // The event log's backlog, as a stream that ends at once.
    const events = await get('/api/v1/events?since=0&timeoutSeconds=0');
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    await events.text();
    const mesos = await stub.fetch(new Request(`${ORIGIN}/api/v1`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'GET_AGENTS' }) }));
    expect(mesos.status).toBe(200);
    expect(JSON.stringify(await mesos.json())).toContain(registered.body.agentId);
    const openapi = await get('/openapi.json', {});
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
    const dashboard = await get('/', {});
    expect(dashboard.status).toBe(303);
    const login = await stub.fetch(
      new Request(`${ORIGIN}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN }, body: `token=${OPERATOR}` }),
    );
    const cookie = login.headers.get('set-cookie')?.split(';')[0];
    expect(cookie).toBeTruthy();
    const page = await get('/agents', { cookie: cookie! });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('w1');
    // The frameworks' pages, and the overview that counts them from one page of the list.
    for (const path of ['/', '/frameworks']) expect((await get(path, { cookie: cookie! })).status, path).toBe(200);
  });

  it('completes a framework that died while no master ran after the window plus its failover timeout; the live one keeps its id', { timeout: 60_000 }, async () => {
    const { stub, api } = freshRegistry();
    let outage = false;
    const send: SchedulerSend = async (method, path, token, body) => {
      if (outage) throw new TypeError('network connection lost');
      const { status, body: answer } = await api.call(method, path, token, body);
      return { status, body: answer };
    };
    const frameworkOf = async (id: string) => (await api.operator('GET', `/frameworks/${id}`)).body;
    const FAILOVER = 1; // seconds
    const live = await runScheduler(send, FRAMEWORK, { name: 'live', failoverTimeoutSeconds: FAILOVER });
    const doomed = await runScheduler(send, FRAMEWORK, { name: 'doomed', failoverTimeoutSeconds: FAILOVER });
    try {
      const firstEpoch = (await api.operator('GET', '/master')).body.epoch as number;
      // The master goes away: nobody reaches it, its sweeper stops, its instance is gone.
      outage = true;
      await doomed.stop(); // dies for good while no master runs
      await stopSweeper(stub);
      await evictDurableObject(stub);
      await eventually(
        'the lease lapsed by more than the clock skew, with no sweeper',
        async () => ({ master: await masterOf(stub), alarm: await alarmOf(stub) }),
        ({ master, alarm }) => alarm === null && master !== undefined && leaseLapsed(master, Date.now(), { maxClockSkew: MAX_CLOCK_SKEW }),
        { within: LEASE + 10_000 },
      );
      outage = false; // the live scheduler's heartbeats get through; the first arms the alarm

      const recovering = await eventually('a new epoch', async () => (await api.operator('GET', '/master')).body, (m) => m.epoch > firstEpoch);
      await eventually('the live framework re-registered', () => frameworkOf(live.frameworkId), (f) => f.status === 'active' && f.epoch === recovering.epoch);
      const done = await eventually('the dead framework completed', () => frameworkOf(doomed.frameworkId), (f) => f.status === 'completed', { within: 20_000 });
      expect(done.disconnectedAt).toBeGreaterThanOrEqual(recovering.recovery.deadline);
      expect(done.completedAt).toBeGreaterThanOrEqual(recovering.recovery.deadline + FAILOVER * 1000);
      expect(live.reregistrations).toBeGreaterThan(0);
      expect(await frameworkOf(live.frameworkId)).toMatchObject({ id: live.frameworkId, status: 'active' });
    } finally {
      outage = true;
      await Promise.all([live.stop(), doomed.stop()]);
    }
  });
});
