// GET /metrics as Prometheus scrapes it: operators only, requests by route pattern, store operations
// through the entries' wrapper, and the registry's gauges read from the master record.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { JOIN, OPERATOR } from '../../test/support/master.ts';
import { faultyStore, heldMaster, registerAgent, servingMaster, serve, type TestMaster } from '../../test/support/master-http.ts';
import { createMetrics, type Metrics } from '../metrics/index.ts';
import { meteredStore } from '../metrics/store.ts';

async function scrape(m: TestMaster): Promise<string> {
  const res = await m.app.request('/metrics', { headers: { authorization: `Bearer ${OPERATOR}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one series, e.g. `registrar_agents{status="admitted"}`. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function meteredMaster(): Promise<{ m: TestMaster; metrics: Metrics }> {
  const metrics = createMetrics();
  const m = await servingMaster({ store: meteredStore(createMemoryStore(), 'memory', metrics), metrics });
  return { m, metrics };
}

describe('GET /metrics', () => {
  it('answers operators only: it reveals counts', async () => {
    const m = await servingMaster();
    expect((await m.app.request('/metrics')).status).toBe(401);
    expect((await m.app.request('/metrics', { headers: { authorization: `Bearer ${JOIN}` } })).status).toBe(403);
    expect((await m.app.request('/metrics', { headers: { authorization: `Bearer ${OPERATOR}` } })).status).toBe(200);
  });

  it('counts requests by matched route pattern and status, never by the raw path with its ids', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    const refused = await m.api.heartbeat(a.id, 'not-the-secret-0123456789-0123456789-0123456789', { epoch: a.epoch });
    await m.call('GET', '/no/such/thing/4711');
    const text = await scrape(m);
    expect(value(text, 'registrar_http_requests_total{method="POST",route="/api/v1/agents",status="201"}')).toBe(1);
    expect(value(text, 'registrar_http_requests_total{method="POST",route="/api/v1/agents/:agentId/heartbeat",status="200"}')).toBe(2);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(value(text, `registrar_http_requests_total{method="POST",route="/api/v1/agents/:agentId/heartbeat",status="${refused.status}"}`)).toBe(1);
    expect(value(text, 'registrar_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(value(text, 'registrar_http_request_duration_seconds_count{method="POST",route="/api/v1/agents/:agentId/heartbeat",status="200"}')).toBe(2);
    expect(text).not.toContain(a.id);
    expect(text).not.toContain('4711');
  });

  it('keeps each app its own registry: two masters in one process do not add up', async () => {
    const one = await servingMaster();
    const two = await servingMaster();
    await registerAgent(one);
    expect(value(await scrape(one), 'registrar_http_requests_total{method="POST",route="/api/v1/agents",status="201"}')).toBe(1);
    expect(value(await scrape(two), 'registrar_http_requests_total{method="POST",route="/api/v1/agents",status="201"}')).toBeUndefined();
  });

  it('reports the registry from the master record: counts by status, epoch, lease, recovery', async () => {
    const m = await servingMaster();
    const agents = [await registerAgent(m), await registerAgent(m, { hostname: 'a2' }), await registerAgent(m, { hostname: 'a3' })];
    await m.api.operator('POST', `/agents/${agents[2]!.id}/gone`, {});
    await serve(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval, agents.slice(0, 1));
    const master = (await m.store.get<any>('master'))!.value;
    m.clock.advance(m.policy.maxClockSkew + 1); // past the cache: the scrape reads what the sweeps wrote
    const text = await scrape(m);
    expect(value(text, 'registrar_master_record_readable')).toBe(1);
    expect(value(text, 'registrar_agents{status="admitted"}')).toBe(master.counts.admitted);
    expect(master.counts).toEqual({ admitted: 1, unreachable: 1, gone: 1 });
    expect(value(text, 'registrar_agents{status="unreachable"}')).toBe(1);
    expect(value(text, 'registrar_agents{status="gone"}')).toBe(1);
    expect(value(text, 'registrar_agents_pending')).toBe(0);
    expect(value(text, 'registrar_master_epoch')).toBe(master.epoch);
    expect(value(text, 'registrar_master_lease_remaining_seconds')).toBe((master.leaseExpiresAt - m.clock.now()) / 1000);
    expect(value(text, 'registrar_recovery_state{state="done"}')).toBe(1);
    expect(value(text, 'registrar_recovery_held')).toBe(0);
    // Sized from a sample of agent records read at the scrape: this master saw no scan through a wrapper.
    expect(value(text, 'registrar_registry_size_bytes')).toBeGreaterThan(3 * 200);
  });

  it('shows a held recovery', async () => {
    const { m } = await heldMaster();
    m.clock.advance(m.policy.maxClockSkew + 1);
    const text = await scrape(m);
    expect(value(text, 'registrar_recovery_held')).toBe(1);
    expect(value(text, 'registrar_recovery_state{state="held"}')).toBe(1);
    expect(value(text, 'registrar_recovery_state{state="done"}')).toBe(0);
  });

  it('still answers, without the registry gauges, when the master record cannot be read', async () => {
    const store = faultyStore(createMemoryStore());
    const m = await servingMaster({ store });
    store.failure = 'unavailable';
    m.clock.advance(m.policy.maxClockSkew + 1);
    const text = await scrape(m);
    expect(value(text, 'registrar_master_record_readable')).toBe(0);
    expect(text).not.toContain('registrar_agents{');
    expect(text).toContain('registrar_http_requests_total');
  });

  it("counts the store's operations by adapter and operation, with Mesos' registrar timers", async () => {
    const { m } = await meteredMaster();
    const a = await registerAgent(m);
    await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    const text = await scrape(m);
    expect(value(text, 'registrar_store_operations_total{adapter="memory",operation="commit",result="ok"}')).toBeGreaterThanOrEqual(3);
    expect(value(text, 'registrar_store_operations_total{adapter="memory",operation="get",result="ok"}')).toBeGreaterThanOrEqual(2);
    expect(value(text, 'registrar_store_operation_duration_seconds_count{adapter="memory",operation="commit"}')).toBeGreaterThanOrEqual(3);
    expect(value(text, 'registrar_state_store_ms_count')).toBe(value(text, 'registrar_store_operation_duration_seconds_count{adapter="memory",operation="commit"}'));
    expect(value(text, 'registrar_state_fetch_ms_count')).toBe(value(text, 'registrar_store_operation_duration_seconds_count{adapter="memory",operation="get"}'));
    expect(value(text, 'registrar_queued_operations')).toBe(0);
  });
});
