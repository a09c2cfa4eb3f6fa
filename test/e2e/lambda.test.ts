// The Lambda entry in-process: its handler fed the events a Function URL or an HTTP API sends, its
// sweeper fed EventBridge's scheduled event, several fresh containers sharing nothing but a table on
// DynamoDB Local (test/services/dynamodb.ts), with sub-second timings.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDynamoDbStore, createTable } from '../../adapters/dynamodb/index.ts';
import { createAgent, type AgentExit } from '../../src/agent/client.ts';
import type { AgentState, StateFile } from '../../src/agent/state.ts';
import { parseDuration } from '../../src/config.ts';
import { createLambdaContainer, type LambdaContainer } from '../../src/lambda.ts';
import type { Store } from '../../src/store.ts';
import { eventually, untilTime } from '../support/eventually.ts';
import { runScheduler, type Send } from '../support/framework-client.ts';
import { FAST, FRAMEWORK, JOIN, OPERATOR } from '../support/processes.ts';
import { httpEvent, httpResponse, lambdaFetch, MASTER_URL, scheduledEvent, type Flavor } from './lambda-events.ts';
import { SLOWER } from './stores.ts';

const service = inject('dynamodb');
const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
/**
 * A schedule period shorter than any sweep interval: each invocation sweeps once and returns, and
 * the tests play the schedule themselves (schedule() below), so that they can stop it at once.
 */
const ONE_SWEEP_PER_INVOCATION = { schedulePeriodMs: 1 };

describe.skipIf('skip' in service)('the AWS Lambda entry on DynamoDB Local', { timeout: 60_000 }, () => {
  const endpoint = 'endpoint' in service ? service.endpoint : '';
  const admin = new DynamoDBClient({ endpoint, ...LOCAL });
  const tables: string[] = [];

  beforeAll(() => {
    // What the Lambda runtime gives every container; the entry's SDK client reads nothing else.
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint);
    vi.stubEnv('AWS_REGION', LOCAL.region);
    vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL.credentials.secretAccessKey);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await Promise.all(tables.map((TableName) => admin.send(new DeleteTableCommand({ TableName }))));
    admin.destroy();
  });

  /** A fresh, empty registry table and the settings a deployment would give the functions. */
  async function deployment(extra: Record<string, string> = {}) {
    const table = `lambda-${randomUUID()}`;
    await createTable(admin, table);
    tables.push(table);
    const env = { REGISTRAR_STORE: `dynamodb:${table}`, REGISTRAR_JOIN_TOKEN: JOIN, REGISTRAR_OPERATOR_TOKEN: OPERATOR, REGISTRAR_FRAMEWORK_TOKEN: FRAMEWORK, ...FAST, ...SLOWER, ...extra };
    const lines: Record<string, unknown>[] = [];
    /** A cold start: a container that shares nothing with the others but the table. */
    const container = (settings: Record<string, string | undefined> = env) =>
      createLambdaContainer({ env: settings, log: (message, fields) => lines.push({ message, ...fields }), ...ONE_SWEEP_PER_INVOCATION });
    const store: Store = createDynamoDbStore({ client: admin, table });
    /** Waits until the last sweep is half an interval old: a sweep sooner than that skips its scan (rule 3). */
    const lastSweepAged = async () => {
      const { lastSweepAt } = (await store.get<{ lastSweepAt: number }>('master'))!.value;
      await untilTime(lastSweepAt + parseDuration('sweep interval', env.REGISTRAR_SWEEP_INTERVAL) / 2, 'the last sweep to be half an interval old');
    };
    return { table, env, lines, container, store, lastSweepAged };
  }

  /** One HTTP call through the front door to a container. */
  async function call(c: LambdaContainer, method: string, path: string, opts: { token?: string; body?: unknown; flavor?: Flavor; base64?: boolean } = {}) {
    const request = new Request(`${MASTER_URL[opts.flavor ?? 'function-url']}${path}`, {
      method,
      headers: {
        'user-agent': 'registrar-test',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    });
    const res = httpResponse(await c.handler(await httpEvent(request, opts.flavor ?? 'function-url', { base64: opts.base64 ?? false })));
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as any };
  }

  /**
   * The schedule invoking the sweeper every sweep interval, start to start, each time in whichever
   * container it likes (as a scheduled invocation sweeps until the next one is due).
   */
  function schedule(containers: () => LambdaContainer[], interval: number) {
    let stopped = false;
    let wake = () => {};
    let i = 0;
    const loop = (async () => {
      while (!stopped) {
        const started = Date.now();
        const all = containers();
        await all[i++ % all.length]!.sweeper(scheduledEvent()).catch(() => {});
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, started + interval - Date.now()));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
    return async () => {
      stopped = true;
      wake();
      await loop;
    };
  }

  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it('serves the API to Function URL and HTTP API events alike, text or base64 bodies', async () => {
    const d = await deployment();
    const [a, b, c] = [d.container(), d.container(), d.container()];
    // The first request of a first deploy runs the first sweep (there is no master record yet).
    const registered = await call(a, 'POST', '/api/v1/agents', { token: JOIN, body: { hostname: 'h1', resources: { cpus: 4 } } });
    expect(registered.status).toBe(201);
    const { agentId, secret, epoch } = registered.body;

    const beat = await call(b, 'POST', `/api/v1/agents/${agentId}/heartbeat`, { token: secret, body: { epoch }, flavor: 'http-api', base64: true });
    expect(beat.status).toBe(200);
    expect(beat.body).toMatchObject({ epoch, deactivated: false });

    const listed = await call(c, 'GET', '/api/v1/agents?status=admitted&hostname=h1&limit=10', { token: OPERATOR, flavor: 'http-api' });
    expect(listed.status).toBe(200);
    expect(listed.body.agents.map((x: { id: string }) => x.id)).toEqual([agentId]);
    expect(JSON.stringify(listed.body)).not.toMatch(/secretHash/);

    const health = await call(c, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/application\/json/);
    expect((await call(a, 'GET', '/api/v1/agents', { token: 'not-a-token-at-all-0123' })).status).toBe(401);
    expect((await call(b, 'DELETE', `/api/v1/agents/${agentId}`, { token: secret })).status).toBe(204);
  });

  it('runs several containers at once that share nothing but the table', async () => {
    const d = await deployment();
    const containers = Array.from({ length: 4 }, () => d.container());
    const agents = await Promise.all(Array.from({ length: 24 }, async (_, n) => {
      const res = await call(containers[n % 4]!, 'POST', '/api/v1/agents', { token: JOIN, body: { hostname: `host-${n}` } });
      expect(res.status).toBe(201);
      return res.body as { agentId: string; secret: string; epoch: number };
    }));
    expect(new Set(agents.map((x) => x.epoch)).size).toBe(1); // concurrent first sweeps: one epoch
    const beats = await Promise.all(agents.map((x, n) =>
      call(containers[(n + 1) % 4]!, 'POST', `/api/v1/agents/${x.agentId}/heartbeat`, { token: x.secret, body: { epoch: x.epoch } })));
    expect(beats.map((r) => r.status)).toEqual(agents.map(() => 200));

    await d.lastSweepAged();
    const sweeps = await Promise.all(containers.map((c) => c.sweeper(scheduledEvent())));
    expect(sweeps.filter((s) => s.outcome === 'done').length).toBeGreaterThanOrEqual(1);
    // The others lost the race to write `master`, or read it after the winner had and skipped.
    for (const s of sweeps) expect(['done', 'lost', 'skipped']).toContain(s.outcome);
    const listed = await call(containers[0]!, 'GET', '/api/v1/agents?limit=100', { token: OPERATOR });
    expect(listed.body.agents.map((x: { id: string }) => x.id).sort()).toEqual(agents.map((x) => x.agentId).sort());
    expect(listed.body.agents.every((x: { status: string }) => x.status === 'admitted')).toBe(true);
  });

  it('sweeps on the scheduled event, renews the lease and logs the report as one JSON line', async () => {
    const d = await deployment();
    const first = await d.container().sweeper(scheduledEvent());
    expect(first).toMatchObject({ outcome: 'done', epoch: expect.any(Number) });
    const before = (await d.store.get<{ leaseExpiresAt: number; epoch: number }>('master'))!.value;
    await d.lastSweepAged();

    // The production container and its log: process.stdout, one line of JSON per entry.
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    let report: Awaited<ReturnType<LambdaContainer['sweeper']>>;
    const event = scheduledEvent();
    try {
      report = await createLambdaContainer({ env: d.env, ...ONE_SWEEP_PER_INVOCATION }).sweeper(event);
    } finally {
      spy.mockRestore();
    }
    expect(report).toMatchObject({ outcome: 'done', epoch: before.epoch, marked: [], pruned: [] });
    const after = (await d.store.get<{ leaseExpiresAt: number; epoch: number }>('master'))!.value;
    expect(after.leaseExpiresAt).toBeGreaterThan(before.leaseExpiresAt);
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith('\n')).toBe(true);
    expect(written[0]!.trimEnd()).not.toContain('\n');
    expect(JSON.parse(written[0]!)).toMatchObject({ message: 'sweep', trigger: event.id, outcome: 'done', epoch: before.epoch, marked: 0, pruned: 0 });
  });

  it('notices an agent that died while no master ran: the seed scenario through the handler', async () => {
    const d = await deployment();
    let containers = Array.from({ length: 3 }, () => d.container());
    let next = 0;
    const pick = () => containers[next++ % containers.length]!;
    const memory = (): StateFile => {
      let state: AgentState | undefined;
      return {
        load: async () => state,
        save: async (next) => {
          state = next;
        },
      };
    };
    const agentLog: Record<string, string[]> = { live: [], doomed: [] };
    const start = (hostname: 'live' | 'doomed') => {
      const agent = createAgent({
        master: MASTER_URL['function-url'],
        joinToken: JOIN,
        info: { hostname },
        state: memory(),
        fetch: lambdaFetch(pick, 'function-url'),
        log: (message) => agentLog[hostname]!.push(message),
      });
      const exit: Promise<AgentExit> = agent.run();
      stops.push(async () => {
        agent.stop();
        await exit;
      });
      return agent;
    };
    const operator = (path: string) => call(pick(), 'GET', `/api/v1${path}`, { token: OPERATOR });
    const byHost = async () => {
      const { agents } = (await operator('/agents?limit=100')).body as { agents: { info: { hostname: string }; status: string; epoch: number }[] };
      return Object.fromEntries(agents.map((a) => [a.info.hostname, a]));
    };

    const interval = parseDuration('sweep interval', d.env.REGISTRAR_SWEEP_INTERVAL);
    const lease = parseDuration('lease', d.env.REGISTRAR_MASTER_LEASE);
    let stopSchedule = schedule(() => containers, interval);
    stops.push(() => stopSchedule());
    start('live');
    const doomed = start('doomed');
    await eventually('two agents registered', byHost, (agents) => Object.keys(agents).length === 2, { within: 20_000 });
    const firstEpoch = (await operator('/master')).body.epoch as number;

    // No master runs: the schedule stops (the API still answers); one agent dies for good.
    await stopSchedule();
    doomed.stop();
    await eventually('the lease lapsed by more than the clock skew', async () => (await call(pick(), 'GET', '/health')).body, (h) => h.leaseLapsed === true, {
      within: lease + 10_000,
    });
    containers = Array.from({ length: 3 }, () => d.container()); // and Lambda recycles every container
    stopSchedule = schedule(() => containers, interval);

    const status = await eventually('a new epoch', async () => (await operator('/master')).body, (m) => m.epoch > firstEpoch);
    expect(status.recovery.state).toBe('recovering');
    await eventually('the live agent re-registered', byHost, (agents) => agents.live?.epoch === status.epoch);
    expect(agentLog.live).toContain('the master asks us to re-register'); // its heartbeat got 409

    const after = await eventually('the dead agent marked unreachable after the window', byHost, (agents) => agents.doomed?.status === 'unreachable');
    expect(after.live?.status).toBe('admitted');
    expect((await operator('/master')).body.recovery.state).toBe('done');
  });

  it('changes nothing across a cold start between invocations', async () => {
    const d = await deployment({ REGISTRAR_LIVENESS_GRANULARITY: '10s', REGISTRAR_AGENT_TIMEOUT: '20s', REGISTRAR_MASTER_LEASE: '30s' });
    const warm = d.container();
    const { agentId, secret, epoch } = (await call(warm, 'POST', '/api/v1/agents', { token: JOIN, body: { hostname: 'steady' } })).body;
    await warm.sweeper(scheduledEvent());
    const masterBefore = await d.store.get('master');
    const agentBefore = await d.store.get(`agents/${agentId}`);

    const cold = d.container();
    const beat = await call(cold, 'POST', `/api/v1/agents/${agentId}/heartbeat`, { token: secret, body: { epoch } });
    expect(beat.status).toBe(200);
    expect(beat.body.epoch).toBe(epoch);
    expect((await call(d.container(), 'GET', '/api/v1/master', { token: OPERATOR })).body).toMatchObject({ epoch, recovery: { state: 'done' } });
    // No sweep, no write: the master record and the agent (no lastSeenAt write due) are as they were.
    expect(await d.store.get('master')).toEqual(masterBefore);
    expect(await d.store.get(`agents/${agentId}`)).toEqual(agentBefore);
  });

  it('refuses to serve without tokens or with a bad setting: 503 to every request, one log line, nothing written', async () => {
    const d = await deployment();
    const { REGISTRAR_OPERATOR_TOKEN: _, ...noOperator } = d.env;
    for (const [settings, problem] of [
      [noOperator, /REGISTRAR_JOIN_TOKEN and REGISTRAR_OPERATOR_TOKEN are required/],
      [{ ...d.env, REGISTRAR_JOIN_TOKEN: undefined, REGISTRAR_OPERATOR_TOKEN: undefined }, /are required/],
      [{ ...d.env, REGISTRAR_FRAMEWORK_TOKEN: undefined }, /REGISTRAR_FRAMEWORK_TOKEN is required/],
      [{ ...d.env, REGISTRAR_AGENT_TIMEOUT: 'soon' }, /REGISTRAR_AGENT_TIMEOUT: "soon" is not a duration/],
      [{ ...d.env, REGISTRAR_STORE: 'leveldb:./data' }, /use dynamodb:<table>/],
      [{ ...d.env, REGISTRAR_STORE: undefined }, /REGISTRAR_STORE is required/],
    ] as const) {
      d.lines.length = 0;
      const refusing = d.container(settings);
      const answers = [
        await call(refusing, 'POST', '/api/v1/agents', { token: JOIN, body: { hostname: 'h' } }),
        await call(refusing, 'GET', '/api/v1/agents', { token: OPERATOR, flavor: 'http-api' }),
        await call(refusing, 'GET', '/health'),
      ];
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('60');
        expect(res.body.error).toBe('unavailable');
        expect(res.body.message).toMatch(problem);
      }
      expect(d.lines).toHaveLength(1);
      expect(d.lines[0]).toMatchObject({ message: expect.stringMatching(/refuses to serve/), problem: expect.stringMatching(problem) });
    }
    // A bad setting stops the sweeper too (tokens are the API's business: the sweeper has none).
    await expect(d.container({ ...d.env, REGISTRAR_MASTER_LEASE: '100ms' }).sweeper(scheduledEvent())).rejects.toThrow(/REGISTRAR_MASTER_LEASE/);
    expect((await d.store.list('')).items).toEqual([]);
    // With its settings right, the sweeper runs without any token.
    expect(await d.container(noOperator).sweeper(scheduledEvent())).toMatchObject({ outcome: 'done' });
  });

  it('notices a framework that died while no master ran: completed after the window plus its failover timeout; the live one keeps its id', async () => {
    const d = await deployment();
    let containers = Array.from({ length: 3 }, () => d.container());
    let next = 0;
    const pick = () => containers[next++ % containers.length]!;
    const send: Send = (method, path, token, body) => call(pick(), method, path, { token, ...(body === undefined ? {} : { body }) });
    const frameworkOf = async (id: string) => (await call(pick(), 'GET', `/api/v1/frameworks/${id}`, { token: OPERATOR })).body;
    const interval = parseDuration('sweep interval', d.env.REGISTRAR_SWEEP_INTERVAL);
    const lease = parseDuration('lease', d.env.REGISTRAR_MASTER_LEASE);
    let stopSchedule = schedule(() => containers, interval);
    stops.push(() => stopSchedule());
    const FAILOVER = 1; // seconds
    const live = await runScheduler(send, FRAMEWORK, { name: 'live', failoverTimeoutSeconds: FAILOVER });
    const doomed = await runScheduler(send, FRAMEWORK, { name: 'doomed', failoverTimeoutSeconds: FAILOVER });
    stops.push(() => live.stop(), () => doomed.stop());
    const firstEpoch = (await call(pick(), 'GET', '/api/v1/master', { token: OPERATOR })).body.epoch as number;

    // No master runs: the schedule stops (the API still answers); one scheduler dies for good.
    await stopSchedule();
    await doomed.stop();
    await eventually('the lease lapsed by more than the clock skew', async () => (await call(pick(), 'GET', '/health')).body, (h) => h.leaseLapsed === true, {
      within: lease + 10_000,
    });
    containers = Array.from({ length: 3 }, () => d.container()); // and Lambda recycles every container
    stopSchedule = schedule(() => containers, interval);

    const status = await eventually('a new epoch', async () => (await call(pick(), 'GET', '/api/v1/master', { token: OPERATOR })).body, (m) => m.epoch > firstEpoch);
    const windowEnd = status.recovery.deadline as number;
    await eventually('the live framework re-registered', () => frameworkOf(live.frameworkId), (f) => f.status === 'active' && f.epoch === status.epoch);
    const done = await eventually('the dead framework completed', () => frameworkOf(doomed.frameworkId), (f) => f.status === 'completed', { within: 20_000 });
    expect(done.disconnectedAt).toBeGreaterThanOrEqual(windowEnd);
    expect(done.completedAt).toBeGreaterThanOrEqual(windowEnd + FAILOVER * 1000);
    expect(done.events.map((e: { type: string }) => e.type)).toEqual(['registered', 'disconnected', 'completed']);
    expect(live.reregistrations).toBeGreaterThan(0);
    expect(await frameworkOf(live.frameworkId)).toMatchObject({ id: live.frameworkId, status: 'active' });
    const mesos = await call(pick(), 'POST', '/api/v1', { token: OPERATOR, body: { type: 'GET_FRAMEWORKS' } });
    expect(mesos.body.get_frameworks.frameworks.map((f: { framework_info: { id: { value: string } } }) => f.framework_info.id.value)).toEqual([live.frameworkId]);
    expect(mesos.body.get_frameworks.completed_frameworks).toHaveLength(1);
  });
});
