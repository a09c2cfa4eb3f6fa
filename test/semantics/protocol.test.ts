// The protocol's promises where a review found them broken (DESIGN.md, rules 1, 3, 4, 7, 8): each test
// names the promise; each failed on the code before its fix.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FakeClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { MasterRecord } from '../../src/registry/index.ts';
import { StoreUnavailableError, type Store } from '../../src/store.ts';
import { startSweeper } from '../../src/runtime.ts';
import { testMaster } from '../support/master.ts';
import { MINUTE, SECOND, TestAgent, YieldingClock, marked, masterRecord, record, run, started, worldStore } from './world.ts';

describe('holds cover only the agents that missed the window (rule 4)', () => {
  it('a re-registered agent that dies during a hold is still marked', async () => {
    const { m, agents } = await started(10);
    await run(m, MINUTE, { agents });
    m.clock.advance(5 * MINUTE); // failover; six agents do not come back
    expect((await m.sweep()).step).toBe('new-epoch');
    const live = agents.slice(6);
    const held = await run(m, m.policy.reregisterTimeout + 10 * SECOND, { agents: live });
    expect(held.at(-1)?.held).toMatch(/6 of 10/);

    const [dying, ...rest] = live as [TestAgent, ...TestAgent[]];
    const reports = await run(m, 5 * MINUTE, { agents: rest });
    expect(marked(reports)).toEqual([dying.id]);
    expect((await masterRecord(m)).recovery).toMatchObject({ state: 'held', heldReason: expect.stringMatching(/6 of 10/) });
    for (const a of agents.slice(0, 6)) expect((await record(m, a.id))?.status).toBe('admitted');
  });
});

describe('gaps are measured between sweep starts (rule 3)', () => {
  it('a scan slower than the sweep interval does not make every sweep a gap: a silent agent is still marked', async () => {
    const clock = new YieldingClock();
    const store = worldStore(createMemoryStore(), clock);
    const m = testMaster({ store, clock });
    await m.sweep();
    const silent = await TestAgent.register(m);
    store.scanDelay = 8 * SECOND; // every page of a scan takes 8 s (a large registry on a slow store)
    const sweeper = startSweeper(m.registrar, () => {});
    while (clock.now() < silent.nextAt + 30 * MINUTE && (await record(m, silent.id))?.status === 'admitted') {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await sweeper.stop();
    expect((await record(m, silent.id))?.status).toBe('unreachable');
    expect((await record(m, silent.id))!.unreachableAt! - silent.nextAt).toBeLessThan(3 * MINUTE);
  });
});

describe('silence during a gap is never held against agents (rules 3, 5)', () => {
  it('no false unreachable: a re-registration that fell due in a store outage at the end of a window', async () => {
    const { m, agents } = await started(1, { policy: { reregisterTimeout: 30 * SECOND } });
    const [agent] = agents as [TestAgent];
    await run(m, MINUTE, { agents });
    m.clock.advance(5 * MINUTE); // failover
    expect((await m.sweep()).step).toBe('new-epoch');
    const deadline = (await masterRecord(m)).recovery.deadline!;
    await run(m, 12 * SECOND); // the agent's next heartbeat is due 12 s into the 30 s window
    expect((await agent.heartbeat(m)).status).toBe(409);
    // Its re-registration meets a store outage of 20 s (longer than the gap test, shorter than the
    // lease): nothing reaches the store until after the window's deadline.
    m.clock.advance(20 * SECOND);
    expect(m.clock.now()).toBeGreaterThan(deadline);
    // The first sweep after it runs before the agent's retry gets through.
    const first = await m.sweep();
    expect(first).toMatchObject({ step: 'gap', marked: [] });
    expect((await agent.reregister(m)).status).toBe(200);
    const after = await run(m, 3 * MINUTE, { agents });
    expect(marked(after)).toEqual([]);
    expect((await record(m, agent.id))?.status).toBe('admitted');
    expect((await masterRecord(m)).recovery.state).toBe('done');
  });
});

describe('gaps measure the whole outage (rule 3)', () => {
  it('a sweep that started while the store was down and waited for it sees the outage as a gap', async () => {
    const clock = new YieldingClock();
    const memory = createMemoryStore();
    let downUntil = 0;
    const store: Store = {
      ...memory,
      get: <T>(key: string) => (clock.now() < downUntil ? Promise.reject(new StoreUnavailableError('down', { outcome: 'not-applied' })) : memory.get<T>(key)),
    };
    const m = testMaster({ store, clock });
    await m.sweep();
    const lastSweep = (await masterRecord(m)).lastSweepAt;
    const gapTest = 2 * m.policy.sweepInterval + m.policy.maxClockSkew;
    // The store is down from just after that sweep for 2.5 s longer than the gap test; a sweep starts
    // inside the outage, before the gap test would call it a gap, and its read waits for the store.
    downUntil = lastSweep + gapTest + 2_500;
    clock.set(lastSweep + gapTest);
    const report = await m.sweep();
    expect(clock.now()).toBeGreaterThanOrEqual(downUntil);
    expect(report.step).toBe('gap');
    expect((await masterRecord(m)).livenessFloor).toBeGreaterThanOrEqual(downUntil);
  });
});

describe('Lambda’s timings (rule 3)', () => {
  it('a store outage shorter than the gap test never marks an agent that heartbeats on time', async () => {
    const policy = loadConfig({ REGISTRAR_STORE: 'dynamodb:registry' }, 'lambda').policy;
    const gapTest = 2 * policy.sweepInterval + policy.maxClockSkew;
    const m = testMaster({ policy });
    const { clock } = m;
    await m.sweep();
    // Twenty agents whose lastSeenAt writes are spread over the granularity.
    const agents: TestAgent[] = [];
    for (let i = 0; i < 20; i++) {
      agents.push(await TestAgent.register(m));
      await run(m, policy.livenessGranularity / 20, { agents });
    }
    await run(m, 5 * MINUTE, { agents });
    // The store goes down just after a sweep and comes back just before the last sweep the gap test allows.
    // The store goes down 28 s after a sweep; nothing reaches it, no heartbeat and no sweep, until just
    // before the gap test would raise the floor.
    const lastSweep = (await masterRecord(m)).lastSweepAt;
    await run(m, lastSweep + 28 * SECOND - clock.now(), { agents, sweeper: false });
    clock.set(lastSweep + Math.floor(gapTest / policy.sweepInterval) * policy.sweepInterval);
    // The first sweep after it runs before the agents' retries get through.
    const first = await m.sweep();
    expect(first).toMatchObject({ step: 'renewed', marked: [] });
    expect(first.held).toBeUndefined();
    const after = await run(m, 5 * MINUTE, { agents });
    expect(marked([first, ...after])).toEqual([]);
  });

  it('start-up refuses an agent timeout that a store outage shorter than the gap test could exhaust', () => {
    expect(loadConfig({ REGISTRAR_STORE: 'dynamodb:registry' }, 'lambda').policy.sweepInterval).toBe(15 * SECOND);
    // 2 × 5 s + 15 s + 2 × 2 s = 29 s
    expect(() => loadConfig({ REGISTRAR_AGENT_TIMEOUT: '29s' })).toThrow(/REGISTRAR_AGENT_TIMEOUT/);
    expect(loadConfig({ REGISTRAR_AGENT_TIMEOUT: '30s' }).policy.agentTimeout).toBe(30 * SECOND);
  });
});

describe('the guard counts marks over a trailing period (rule 4)', () => {
  it('a fleet going silent at once is held, not marked a few at a time', async () => {
    const { m } = await started(0);
    const agents: TestAgent[] = [];
    for (let i = 0; i < 20; i++) {
      agents.push(await TestAgent.register(m));
      await run(m, 3 * SECOND, { agents }); // their lastSeenAt spread over a minute
    }
    await run(m, 3 * MINUTE, { agents });
    // Twelve of twenty stop getting through (an API outage for them, a partition): their deadlines spread.
    const reports = await run(m, 10 * MINUTE, { agents: agents.slice(12) });
    expect(marked(reports).length).toBeLessThanOrEqual(10);
    expect(reports.at(-1)?.held).toBeDefined();
    expect((await m.call('GET', '/health')).body.held).toBe(true);
  });
});

describe('releasing a hold (rule 4)', () => {
  it('succeeds while sweeps keep writing the master record during its scan', async () => {
    const clock = new FakeClock();
    const store = worldStore(createMemoryStore(), clock);
    const { m } = await started(0, { store, clock });
    const agents: TestAgent[] = [];
    for (let i = 0; i < 6; i++) agents.push(await TestAgent.register(m));
    m.clock.advance(5 * MINUTE);
    await m.sweep();
    await run(m, m.policy.reregisterTimeout + 10 * SECOND, { agents: agents.slice(4) });
    expect((await masterRecord(m)).recovery.state).toBe('held');
    // Each page of a scan takes 6 s, and another instance sweeps meanwhile.
    const other = testMaster({ store, clock });
    store.scanDelay = 6 * SECOND;
    store.duringScan = async () => {
      store.duringScan = undefined;
      await other.sweep();
    };
    const release = await m.api.operator('POST', '/master/recovery/release', { reason: 'rack lost' });
    expect(release.status, JSON.stringify(release.body)).toBe(200);
    expect((await masterRecord(m)).recovery.state).not.toBe('held');
  });
});

describe('re-registration reads the master fresh (rule 7)', () => {
  it('an agent told to re-register is never sent back to the epoch it left by a cached master', async () => {
    const a = testMaster();
    const b = testMaster({ store: a.store, clock: a.clock });
    await a.sweep();
    const { agentId, secret, epoch: old } = (await a.api.register({ hostname: 'h1' })).body;
    a.clock.advance(a.policy.masterLease + a.policy.maxClockSkew + 1);
    expect((await a.api.heartbeat(agentId, secret, { epoch: old })).status).toBe(200); // a caches the old epoch
    await b.sweep(); // a new epoch
    const told = await b.api.heartbeat(agentId, secret, { epoch: old });
    expect(told.status).toBe(409);
    const again = await a.api.reregister(agentId, secret, { hostname: 'h1' });
    expect(again.status).toBe(200);
    expect(again.body.epoch).toBe(told.body.epoch);
  });
});

describe('tombstones (rule 8)', () => {
  const agentId = '3f0c1f8e-7d6a-4b59-9e2f-0a1b2c3d4e5f';
  const secret = 'dG9tYnN0b25lLXNlY3JldC0wMTIzNDU2Nzg5MDEyMzQ1Njc4OWFiY2Q';

  it('a pruned agent’s self-chosen id cannot register again', async () => {
    const { m } = await started(0, { policy: { registryRetention: 60 * MINUTE } });
    expect((await m.api.register({ hostname: 'h1', agentId, secret })).status).toBe(201);
    await m.api.operator('POST', `/agents/${agentId}/gone`, { reason: 'decommissioned' });
    const reports = await run(m, 61 * MINUTE);
    expect(reports.flatMap((r) => r.pruned)).toEqual([agentId]);
    expect(await record(m, agentId)).toBeUndefined();
    const again = await m.api.register({ hostname: 'h1', agentId, secret });
    expect(again.status).toBe(410);
    expect(await record(m, agentId)).toBeUndefined();
    // The machine can still join as a new agent with a new id.
    expect((await m.api.register({ hostname: 'h1' })).status).toBe(201);
  });
});

describe('the join token cannot evict a live agent (rule 1)', () => {
  it('a registration naming a live agent’s machineId is refused with 409 machine-in-use and Retry-After', async () => {
    const { m } = await started(0);
    const victim = await TestAgent.register(m, { machineId: 'machine-7' });
    const thief = await m.api.register({ hostname: 'evil', machineId: 'machine-7' });
    expect(thief.status).toBe(409);
    expect(thief.body.error).toBe('machine-in-use');
    const retryAfter = Number(thief.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual((m.policy.agentTimeout + m.policy.livenessGranularity) / SECOND + 1);
    expect((await record(m, victim.id))?.status).toBe('admitted');
    expect((await victim.heartbeat(m)).status).toBe(200);
  });

  it('replaces the older record with its secret, or once it is overdue or unreachable', async () => {
    const { m } = await started(0);
    const older = await TestAgent.register(m, { machineId: 'machine-8' });
    const withSecret = await m.api.register({ hostname: 'reinstalled', machineId: 'machine-8', previousSecret: older.secret });
    expect(withSecret.status).toBe(201);
    expect((await record(m, older.id))?.status).toBe('gone');

    const silent = await TestAgent.register(m, { machineId: 'machine-9' });
    m.clock.advance(m.policy.agentTimeout + m.policy.livenessGranularity + SECOND);
    const overdue = await m.api.register({ hostname: 'reinstalled', machineId: 'machine-9' });
    expect(overdue.status).toBe(201);
    expect((await record(m, silent.id))?.events.at(-1)?.reason).toMatch(/machine machine-9 registered again/);
  });
});

describe('scans are spaced by the registry’s own deadlines (issue 13)', () => {
  it('sweeps before anything can fall due only renew the lease; a silent agent is still marked within agentTimeout + granularity + sweepInterval', async () => {
    const clock = new FakeClock();
    const store = worldStore(createMemoryStore(), clock);
    const m = testMaster({ store, clock });
    await m.sweep();
    const agents: TestAgent[] = [];
    for (let i = 0; i < 10; i++) agents.push(await TestAgent.register(m));
    await run(m, 5 * MINUTE, { agents });
    store.lists = 0;
    const steady = await run(m, 10 * MINUTE, { agents });
    expect(marked(steady)).toEqual([]);
    // A scan at most once per granularity, not once per sweep interval.
    expect(steady.filter((r) => r.scanned).length).toBeLessThanOrEqual(10 * MINUTE / m.policy.livenessGranularity + 1);
    expect(steady.filter((r) => r.scanned === false).length).toBeGreaterThan(steady.length / 2);
    // One list of the agents and one of the frameworks per scanning sweep.
    expect(store.lists).toBe(2 * steady.filter((r) => r.scanned).length);

    const [silent, ...rest] = agents as [TestAgent, ...TestAgent[]];
    const lastSeen = (await record(m, silent.id))!.lastSeenAt;
    await run(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval, { agents: rest });
    const marks = (await record(m, silent.id))!;
    expect(marks.status).toBe('unreachable');
    expect(marks.unreachableAt! - lastSeen).toBeLessThanOrEqual(m.policy.agentTimeout + m.policy.livenessGranularity + m.policy.sweepInterval);
    for (const a of rest) expect((await record(m, a.id))?.status).toBe('admitted');
  });
});

describe('instances share the scans (rule 3)', () => {
  it('eight instances sweeping every interval cost about one scan per interval, not eight', async () => {
    const clock = new FakeClock();
    const store = worldStore(createMemoryStore(), clock);
    const instances = Array.from({ length: 8 }, () => testMaster({ store, clock }));
    await instances[0]!.sweep();
    for (let i = 0; i < 5; i++) await TestAgent.register(instances[0]!);
    store.lists = 0;
    const intervals = 20;
    for (let n = 0; n < intervals; n++) {
      clock.advance(instances[0]!.policy.sweepInterval);
      for (const i of instances) await i.sweep();
    }
    expect(store.lists).toBeLessThanOrEqual(intervals * 1.5);
    const master = (await store.get<MasterRecord>('master'))!.value;
    expect(clock.now() - master.lastSweepAt).toBeLessThan(instances[0]!.policy.sweepInterval);
  });
});
