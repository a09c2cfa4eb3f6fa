// Frameworks on the real Node server (a master process on LevelDB, schedulers over HTTP): the seed
// scenario for frameworks — one dies while no master runs and is completed after the re-registration
// window plus its failover timeout; the live one re-registers and keeps its id.
import { afterEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config.ts';
import { eventually, untilTime } from '../support/eventually.ts';
import { fetchSend, runScheduler, type RunningScheduler } from '../support/framework-client.ts';
import { FRAMEWORK, OPERATOR, startMaster, type Proc } from '../support/processes.ts';
import { e2eStores, scenarioEnv } from './stores.ts';

const running: Proc[] = [];
const schedulers: RunningScheduler[] = [];
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
});
const WITHIN = { within: 30_000 };
const leveldb = e2eStores().find((s) => s.name === 'leveldb')!;

type Framework = { id: string; status: string; epoch: number; disconnectedAt?: number; completedAt?: number; events: { type: string; reason?: string }[] };

describe('frameworks on the Node server', { timeout: 120_000 }, () => {
  it('completes a framework that died while no master ran after the window plus its failover timeout; the live one keeps its id', async () => {
    const env = await scenarioEnv(leveldb);
    let master = await startMaster(env);
    running.push(master);
    let send = fetchSend(master.url);
    const viaMaster: typeof send = (...args) => send(...args); // follows the master across restarts
    const FAILOVER = 1; // seconds
    const live = await runScheduler(viaMaster, FRAMEWORK, { name: 'live', failoverTimeoutSeconds: FAILOVER });
    const doomed = await runScheduler(viaMaster, FRAMEWORK, { name: 'doomed', failoverTimeoutSeconds: FAILOVER });
    schedulers.push(live, doomed);
    const frameworkOf = async (id: string) => (await master.operator('GET', `/frameworks/${id}`)).body as Framework;
    const firstEpoch = (await master.operator('GET', '/master')).body.epoch;

    await master.stop();
    const stoppedAt = Date.now();
    await doomed.stop(); // dies for good while no master runs
    await untilTime(stoppedAt + parseDuration('lease', env.REGISTRAR_MASTER_LEASE!) + parseDuration('skew', env.REGISTRAR_MAX_CLOCK_SKEW!), 'the lease to lapse');
    master = await startMaster(env);
    running.push(master);
    send = fetchSend(master.url);

    const status = (await master.operator('GET', '/master')).body;
    expect(status.epoch).toBeGreaterThan(firstEpoch);
    const windowEnd = status.recovery.deadline as number;
    await eventually('the live framework re-registered', () => frameworkOf(live.frameworkId), (f) => f.status === 'active' && f.epoch === status.epoch, WITHIN);
    expect((await frameworkOf(doomed.frameworkId)).status).toBe('active'); // waits for the window
    const done = await eventually('the dead framework completed', () => frameworkOf(doomed.frameworkId), (f) => f.status === 'completed', WITHIN);
    expect(done.disconnectedAt).toBeGreaterThanOrEqual(windowEnd);
    expect(done.completedAt).toBeGreaterThanOrEqual(windowEnd + FAILOVER * 1000);
    expect(done.events.map((e) => e.type)).toEqual(['registered', 'disconnected', 'completed']);
    expect(done.events[1]?.reason).toMatch(/did not re-register within the window/);

    expect(live.reregistrations).toBeGreaterThan(0);
    expect(live.completed).toBe(false);
    const kept = await frameworkOf(live.frameworkId);
    expect(kept).toMatchObject({ id: live.frameworkId, status: 'active' });
    const active = (await master.operator('GET', '/frameworks?status=active')).body.frameworks as Framework[];
    expect(active.map((f) => f.id)).toEqual([live.frameworkId]);
  });

  it('serves the scheduler and operator calls and GET_FRAMEWORKS over HTTP', async () => {
    const env = await scenarioEnv(leveldb);
    const master = await startMaster(env);
    running.push(master);
    const send = fetchSend(master.url);
    const registered = await send('POST', '/api/v1/frameworks', FRAMEWORK, { name: 'marathon', roles: ['web'], failoverTimeoutSeconds: 60 });
    expect(registered.status).toBe(201);
    const { frameworkId, secret, epoch } = registered.body;
    expect((await send('POST', `/api/v1/frameworks/${frameworkId}/heartbeat`, secret, { epoch })).status).toBe(200);
    expect((await send('POST', '/api/v1/frameworks', OPERATOR, { name: 'x' })).status).toBe(403);
    const mesos = await send('POST', '/api/v1', OPERATOR, { type: 'GET_FRAMEWORKS' });
    expect(mesos.status).toBe(200);
    expect(mesos.body.get_frameworks.frameworks[0]).toMatchObject({ framework_info: { id: { value: frameworkId }, name: 'marathon', failover_timeout: 60 }, active: true });
    expect((await send('DELETE', `/api/v1/frameworks/${frameworkId}`, secret)).status).toBe(204);
    expect((await send('POST', `/api/v1/frameworks/${frameworkId}/heartbeat`, secret, { epoch })).status).toBe(410);
    expect((await master.operator('GET', `/frameworks/${frameworkId}`)).body.status).toBe('completed');
  });
});
