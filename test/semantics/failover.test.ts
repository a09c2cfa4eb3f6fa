// Failover, epochs and the re-registration window (DESIGN.md, Semantics 3, 4, 7, 12).
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import type { Store } from '../../src/store.ts';
import { testMaster } from '../support/master.ts';
import { MINUTE, SECOND, TestAgent, gate, interceptCommits, marked, masterRecord, nextSweep, record, run, started, writesMaster } from './world.ts';

describe('failover', () => {
  it('marks an agent that died while no master ran unreachable after the window', async () => {
    const { m, agents } = await started(5);
    await run(m, MINUTE, { agents });
    const [dead, ...live] = agents as [TestAgent, ...TestAgent[]];
    const before = await masterRecord(m);

    // No master runs for five minutes (no sweeps, no API); meanwhile one agent dies for good.
    m.clock.advance(5 * MINUTE);
    const back = await m.sweep();
    expect(back).toMatchObject({ outcome: 'done', step: 'new-epoch', marked: [] });
    const opened = await masterRecord(m);
    expect(opened.epoch).toBeGreaterThan(before.epoch);
    expect(opened.recovery).toMatchObject({ state: 'recovering', deadline: m.clock.now() + m.policy.reregisterTimeout });

    // The live agents are told to re-register; the dead one stays pending for the whole window.
    const during = await run(m, m.policy.reregisterTimeout - SECOND, { agents: live });
    expect(marked(during)).toEqual([]);
    expect((await masterRecord(m)).recovery.admittedAtOpen).toBe(5); // counted by the epoch's first scan
    for (const a of live) {
      expect(a.statuses).toContain(409);
      expect(a.epoch).toBe(opened.epoch);
    }
    const pending = await m.api.operator('GET', '/agents?pending=true');
    expect(pending.body.agents.map((a: { id: string }) => a.id)).toEqual([dead.id]);
    expect((await record(m, dead.id))?.status).toBe('admitted');

    const close = await run(m, 5 * SECOND, { agents: live });
    expect(marked(close)).toEqual([dead.id]);
    const r = await record(m, dead.id);
    expect(r?.status).toBe('unreachable');
    expect(r?.events.at(-1)?.reason).toMatch(/did not re-register/);
    for (const a of live) expect((await record(m, a.id))?.status).toBe('admitted');
    const status = await m.api.operator('GET', '/master');
    expect(status.body).toMatchObject({ epoch: opened.epoch, recovery: { state: 'done' }, counts: { admitted: 4, unreachable: 1, gone: 0 } });
  });

  it('a 1-agent registry whose agent died during failover is marked, not held', async () => {
    const { m, agents } = await started(1);
    await run(m, MINUTE, { agents });
    m.clock.advance(10 * MINUTE);
    expect((await m.sweep()).step).toBe('new-epoch');
    const reports = await run(m, m.policy.reregisterTimeout);
    expect(reports.some((r) => r.held)).toBe(false);
    expect(marked(reports)).toEqual([agents[0]!.id]);
    expect((await masterRecord(m)).recovery.state).toBe('done');
  });

  it('an agent marked unreachable after failover comes back with its id when it re-registers', async () => {
    const { m, agents } = await started(1);
    const [a] = agents as [TestAgent];
    m.clock.advance(10 * MINUTE);
    await run(m, m.policy.reregisterTimeout + 5 * SECOND);
    expect((await record(m, a.id))?.status).toBe('unreachable');
    const hb = await a.heartbeat(m);
    expect(hb.status).toBe(409);
    expect(hb.body).toMatchObject({ error: 'reregister', epoch: (await masterRecord(m)).epoch });
    const again = await a.reregister(m);
    expect(again.status).toBe(200);
    expect(again.body.agentId).toBe(a.id);
    const r = await record(m, a.id);
    expect(r).toMatchObject({ status: 'admitted', epoch: again.body.epoch });
    expect(r?.unreachableAt).toBeUndefined();
    expect(r?.events.at(-1)?.type).toBe('reachable');
    expect((await a.heartbeat(m)).status).toBe(200);
  });

  it('a restart within the lease keeps the epoch and marks nobody', async () => {
    const { m, agents } = await started(4);
    await run(m, 3 * MINUTE, { agents });
    const { epoch } = await masterRecord(m);
    // The process stops; a new one (no cached state) takes over on the same store 20 s later.
    m.clock.advance(20 * SECOND);
    const next = testMaster({ store: m.store, clock: m.clock });
    const first = await next.sweep();
    expect(first.step).toBe('gap');
    const reports = [first, ...(await run(next, 5 * MINUTE, { agents }))];
    expect(marked(reports)).toEqual([]);
    expect(reports.every((r) => r.epoch === epoch)).toBe(true);
    for (const a of agents) {
      expect(a.statuses.every((s) => s === 200)).toBe(true);
      expect((await record(next, a.id))?.status).toBe('admitted');
    }
  });

  it('a sweep gap shorter than the lease marks nobody, even agents whose heartbeats could not get through', async () => {
    // Lambda's timings: a sweep a minute, a 150 s lease.
    const { m, agents } = await started(3, { policy: { sweepInterval: 60 * SECOND, masterLease: 150 * SECOND } });
    await run(m, 5 * MINUTE, { agents });
    const { epoch } = await masterRecord(m);
    // Nothing serves for 140 s: no sweeps, no heartbeats accepted. The lease (150 s + skew) still holds.
    m.clock.advance(140 * SECOND);
    const silentSince = Math.max(...(await Promise.all(agents.map(async (a) => (await record(m, a.id))!.lastSeenAt))));
    // Without the floor every agent would be overdue now.
    expect(m.clock.now() - silentSince).toBeGreaterThan(m.policy.agentTimeout + m.policy.livenessGranularity);
    const gap = await m.sweep();
    expect(gap).toMatchObject({ step: 'gap', epoch, marked: [] });
    expect((await masterRecord(m)).livenessFloor).toBe(m.clock.now());
    expect(marked(await run(m, 5 * MINUTE, { agents }))).toEqual([]);
    for (const a of agents) expect(a.statuses.every((s) => s === 200)).toBe(true);
  });

  it('a new epoch serves without reading the agents: its first scan, a sweep later, counts those admitted when the window opened', async () => {
    const inner = createMemoryStore();
    const listed: string[] = [];
    const store: Store = {
      ...inner,
      list(prefix, opts) {
        listed.push(prefix);
        return inner.list(prefix, opts);
      },
    };
    const { m, agents } = await started(4, { store });
    await run(m, MINUTE, { agents });
    m.clock.advance(5 * MINUTE);
    listed.length = 0;
    expect(await m.sweep()).toMatchObject({ outcome: 'done', step: 'new-epoch', scanned: false, marked: [] });
    expect(listed).toEqual([]);
    const opened = await masterRecord(m);
    expect(opened.recovery).toEqual({ state: 'recovering', deadline: m.clock.now() + m.policy.reregisterTimeout });
    // The status answers at once, with the counts the last scan kept: all four are pending.
    expect((await m.api.operator('GET', '/master')).body).toMatchObject({ epoch: opened.epoch, counts: { admitted: 4 }, pending: 4, recovery: { state: 'recovering' } });
    // Before the next sweep, one agent re-registers, another is removed, a new one registers: the base stays 4.
    m.clock.advance(SECOND);
    await agents[0]!.beat(m);
    expect(agents[0]!.epoch).toBe(opened.epoch);
    expect((await m.api.operator('POST', `/agents/${agents[1]!.id}/gone`)).status).toBe(200);
    await TestAgent.register(m);
    expect(await nextSweep(m)).toMatchObject({ step: 'renewed', scanned: true });
    expect(listed).toContain('agents/');
    expect((await masterRecord(m)).recovery).toMatchObject({ state: 'recovering', admittedAtOpen: 4 });
  });

  it('a first start over existing agents opens a window in an epoch none of them holds, and marks only those that never re-register', async () => {
    // A registry restored without its master record.
    const old = testMaster();
    await old.sweep();
    const agents = [await TestAgent.register(old), await TestAgent.register(old)];
    await old.store.commit([{ key: 'master', expect: 'any', delete: true }]);
    old.clock.advance(MINUTE);
    const m = testMaster({ store: old.store, clock: old.clock });
    expect((await m.sweep()).step).toBe('first-start');
    expect(await masterRecord(m)).toMatchObject({ recovery: { state: 'recovering', admittedAtOpen: 2 } });
    expect((await masterRecord(m)).epoch).toBeGreaterThan(1); // the agents hold epoch 1: never reuse it
    const reports = await run(m, m.policy.reregisterTimeout + 5 * SECOND, { agents: [agents[0]!] });
    expect(marked(reports)).toEqual([agents[1]!.id]);
  });

  it('an agent that registers while a new epoch starts over an empty registry is not marked before it could re-register', async () => {
    const pause = gate();
    const reached = gate();
    let paused = false;
    const store = interceptCommits(createMemoryStore(), async (writes, commit) => {
      if (paused && writesMaster(writes)) {
        paused = false;
        reached.open();
        await pause.opened;
      }
      return commit();
    });
    const m = testMaster({ store });
    await m.sweep();
    m.clock.advance(5 * MINUTE); // the lease lapses with nobody registered
    paused = true;
    const sweeping = m.sweep();
    await reached.opened; // it has scanned an empty registry and is about to start the new epoch
    const agent = await TestAgent.register(m); // registered in the old epoch, just before the new one begins
    pause.open();
    expect((await sweeping).step).toBe('new-epoch');
    expect((await record(m, agent.id))?.epoch).not.toBe((await masterRecord(m)).epoch);

    const reports = await run(m, 3 * MINUTE, { agents: [agent] });
    expect(marked(reports)).toEqual([]);
    expect(await record(m, agent.id)).toMatchObject({ status: 'admitted', epoch: (await masterRecord(m)).epoch });
  });
});

describe('holds (rule 4)', () => {
  /** Six agents; `missing` of them stop during a five-minute failover. */
  async function failover(missing: number) {
    const { m, agents } = await started(6);
    await run(m, MINUTE, { agents });
    const gone = agents.slice(0, missing);
    const live = agents.slice(missing);
    m.clock.advance(5 * MINUTE);
    expect((await m.sweep()).step).toBe('new-epoch');
    const reports = await run(m, m.policy.reregisterTimeout, { agents: live });
    return { m, agents, missing: gone, live, reports };
  }

  it('holds marking when too many agents are missing at window close, and an operator release marks them', async () => {
    const { m, missing, live, reports } = await failover(4);
    expect(marked(reports)).toEqual([]);
    expect(reports.at(-1)?.held).toMatch(/4 of 6 agents/);
    const master = await masterRecord(m);
    expect(master.recovery).toMatchObject({ state: 'held', heldReason: expect.stringMatching(/4 of 6/) });

    const health = await m.call('GET', '/health');
    expect(health.body).toMatchObject({ held: true, recovery: 'held' });
    expect(health.body.warnings.join()).toMatch(/marking is held/);
    const status = await m.api.operator('GET', '/master');
    expect(status.body.recovery.state).toBe('held');
    const pending = await m.api.operator('GET', '/agents?pending=true');
    expect(pending.body.agents.map((a: { id: string }) => a.id).sort()).toEqual(missing.map((a) => a.id).sort());

    // More sweeps change nothing while held; the live agents are fine meanwhile.
    expect(marked(await run(m, 5 * MINUTE, { agents: live }))).toEqual([]);

    const dry = await m.api.operator('POST', '/master/recovery/release', { dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ released: false, dryRun: true });
    expect(dry.body.wouldMark.sort()).toEqual(missing.map((a) => a.id).sort());
    expect((await masterRecord(m)).recovery.state).toBe('held');

    const release = await m.api.operator('POST', '/master/recovery/release', { reason: 'rack 4 is gone' });
    expect(release.status).toBe(200);
    expect(release.body).toMatchObject({ released: true, recovery: { state: 'done', releasedBy: 'alice' } });
    const after = await nextSweep(m);
    expect(after.marked.sort()).toEqual(missing.map((a) => a.id).sort());
    for (const a of live) expect((await record(m, a.id))?.status).toBe('admitted');
    expect((await m.api.operator('POST', '/master/recovery/release', {})).status).toBe(409); // nothing held now
  });

  it('a hold clears by itself once the missing fall under the limit', async () => {
    const { m, missing, live, reports } = await failover(4);
    expect(reports.at(-1)?.held).toBeDefined();
    // Two of the four come back and re-register: two of six missing is under the limit.
    const back = missing.slice(0, 2);
    for (const a of back) expect((await a.beat(m)).status).toBe(200);
    const next = await nextSweep(m);
    expect(next.held).toBeUndefined();
    expect(next.marked.sort()).toEqual(missing.slice(2).map((a) => a.id).sort());
    expect((await masterRecord(m)).recovery.state).toBe('done');
    for (const a of [...back, ...live]) expect((await record(m, a.id))?.status).toBe('admitted');
  });

  it('a hold survives a new epoch', async () => {
    const { m, missing, live } = await failover(4);
    expect((await masterRecord(m)).recovery.state).toBe('held');
    m.clock.advance(5 * MINUTE); // another failover while held
    const again = await m.sweep();
    expect(again.step).toBe('new-epoch');
    expect((await masterRecord(m)).recovery.state).toBe('held');
    const reports = await run(m, m.policy.reregisterTimeout + 5 * SECOND, { agents: live });
    expect(marked(reports)).toEqual([]);
    expect((await masterRecord(m)).recovery.state).toBe('held');
    for (const a of live) expect(await record(m, a.id)).toMatchObject({ status: 'admitted', epoch: again.epoch });
    expect((await m.api.operator('POST', '/master/recovery/release', {})).status).toBe(200);
    expect((await nextSweep(m)).marked.sort()).toEqual(missing.map((a) => a.id).sort());
  });

  it('holds marking when a single sweep outside recovery would mark more than the limit (an outage looks like mass death)', async () => {
    const { m, agents } = await started(6);
    await run(m, 2 * MINUTE, { agents });
    const [one, ...cut] = agents as [TestAgent, ...TestAgent[]];
    // Five agents' heartbeats stop getting through while the sweeper keeps running.
    const reports = await run(m, 4 * MINUTE, { agents: [one] });
    expect(marked(reports)).toEqual([]);
    expect(reports.at(-1)?.held).toMatch(/5 of 6/);
    // They get through again: the hold clears and nobody was marked.
    for (const a of cut) expect((await a.beat(m)).status).toBe(200);
    const next = await nextSweep(m);
    expect(next).toMatchObject({ marked: [] });
    expect(next.held).toBeUndefined();
    expect((await masterRecord(m)).recovery.state).toBe('done');
  });
});
