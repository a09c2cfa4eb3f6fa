// The agent's life in the registry (DESIGN.md, Semantics 1, 2, 8, 9, 10, 14), through the HTTP API.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { testMaster } from '../support/master.ts';
import { MINUTE, SECOND, TestAgent, interceptCommits, marked, masterRecord, record, run, started } from './world.ts';

const agentId = '0b9d7f3e-2a41-4e6b-8c0d-5f1e2a3b4c5d';
const secret = 'YWdlbnQtY2hvc2VuLXNlY3JldC0wMTIzNDU2Nzg5MDEyMzQ1Njc4OQ';
const otherSecret = 'b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0wMTIzNDU2Nzg5MDEyMw';

describe('admission and liveness (rules 1, 2)', () => {
  it('admits an agent with a fresh id and secret in the current epoch; only the secret’s hash is stored', async () => {
    const { m } = await started(0);
    const res = await m.api.register({ hostname: 'h1', resources: { cpus: 8 } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ epoch: (await masterRecord(m)).epoch, heartbeatIntervalSeconds: 15, agentTimeoutSeconds: 75 });
    const r = (await record(m, res.body.agentId))!;
    expect(r).toMatchObject({ status: 'admitted', info: { hostname: 'h1', resources: { cpus: 8 } } });
    expect(JSON.stringify(r)).not.toContain(res.body.secret);
    const other = await m.api.register({ hostname: 'h2' });
    expect(other.body.agentId).not.toBe(res.body.agentId);
    expect(other.body.secret).not.toBe(res.body.secret);
  });

  it('a heartbeat costs a store write at most once per liveness granularity', async () => {
    let agentWrites = 0;
    const store = interceptCommits(createMemoryStore(), async (writes, commit) => {
      if (writes.some((w) => w.key.startsWith('agents/'))) agentWrites++;
      return commit();
    });
    const m = testMaster({ store });
    await m.sweep();
    const a = await TestAgent.register(m);
    const afterRegister = agentWrites;
    // Ten minutes of heartbeats every 15 s: 40 heartbeats, a write only every 60 s.
    await run(m, 10 * MINUTE, { agents: [a] });
    expect(a.statuses).toHaveLength(40);
    expect(a.statuses.every((s) => s === 200)).toBe(true);
    expect(agentWrites - afterRegister).toBe(10);
  });

  it('no false negatives: a silent agent is marked within agentTimeout + livenessGranularity + sweepInterval', async () => {
    // Different moments of death relative to the heartbeat, the lastSeenAt write and the sweep.
    for (const extraBeats of [0, 1, 3, 4, 7]) {
      for (const phase of [0, 2 * SECOND, 4 * SECOND]) {
        const { m, agents } = await started(3);
        const [dying, ...live] = agents as [TestAgent, ...TestAgent[]];
        m.clock.advance(phase);
        await run(m, extraBeats * m.policy.heartbeatInterval, { agents });
        const lastAccepted = dying.nextAt - m.policy.heartbeatInterval; // its last heartbeat (or its registration)
        const deadline = lastAccepted + m.policy.agentTimeout + m.policy.livenessGranularity + m.policy.sweepInterval;
        let markedAt: number | undefined;
        while (markedAt === undefined && m.clock.now() <= deadline + MINUTE) {
          const reports = await run(m, SECOND, { agents: live });
          if (marked(reports).includes(dying.id)) markedAt = m.clock.now();
        }
        const label = `extra beats ${extraBeats}, phase ${phase}`;
        expect(markedAt, label).toBeDefined();
        expect(markedAt!, label).toBeLessThanOrEqual(deadline);
        expect(markedAt!, label).toBeGreaterThan(lastAccepted + m.policy.agentTimeout);
        for (const a of live) expect((await record(m, a.id))?.status).toBe('admitted');
      }
    }
  });
});

describe('gone is final (rule 8)', () => {
  it('a gone agent’s heartbeat, re-registration, registration and DELETE get 410', async () => {
    const { m } = await started(0);
    const reg = await m.api.register({ hostname: 'h1', agentId, secret });
    const a = new TestAgent(m, reg.body, { hostname: 'h1' });
    const gone = await m.api.operator('POST', `/agents/${a.id}/gone`, { reason: 'decommissioned' });
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({ status: 'gone', events: expect.arrayContaining([expect.objectContaining({ type: 'gone', by: 'alice', reason: 'decommissioned' })]) });

    expect((await a.heartbeat(m)).status).toBe(410);
    expect((await a.reregister(m)).status).toBe(410);
    expect((await m.api.register({ hostname: 'h1', agentId, secret })).status).toBe(410);
    expect((await m.call('DELETE', `/api/v1/agents/${a.id}`, { token: secret })).status).toBe(410);
    m.clock.advance(10 * MINUTE);
    await run(m, MINUTE);
    expect((await record(m, a.id))?.status).toBe('gone');
  });

  it('marking gone is idempotent', async () => {
    const { m, agents } = await started(1);
    const id = agents[0]!.id;
    const first = await m.api.operator('POST', `/agents/${id}/gone`, {});
    m.clock.advance(SECOND);
    const second = await m.api.operator('POST', `/agents/${id}/gone`, {});
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body).toEqual(first.body);
    expect((await m.api.operator('POST', '/agents/00000000-0000-4000-8000-000000000000/gone', {})).status).toBe(404);
  });

  it('after the record is pruned the id is unknown (404)', async () => {
    const { m, agents } = await started(1, { policy: { registryRetention: 60 * MINUTE } });
    const [a] = agents as [TestAgent];
    await m.api.operator('POST', `/agents/${a.id}/gone`, {});
    await run(m, 60 * MINUTE);
    expect(await record(m, a.id)).toBeDefined();
    const reports = await run(m, 10 * SECOND);
    expect(reports.flatMap((r) => r.pruned)).toEqual([a.id]);
    expect((await a.heartbeat(m)).status).toBe(404);
    expect((await a.reregister(m)).status).toBe(404);
    expect((await m.api.operator('GET', `/agents/${a.id}`)).status).toBe(404);
  });
});

describe('registration with an agent-chosen id', () => {
  it('is idempotent with the same secret; another secret is 403', async () => {
    const { m } = await started(0);
    const first = await m.api.register({ hostname: 'h1', agentId, secret });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ agentId, secret });
    const before = await m.store.get(`agents/${agentId}`);
    const retry = await m.api.register({ hostname: 'h1', agentId, secret });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect((await m.store.get(`agents/${agentId}`))?.version).toBe(before?.version); // nothing written
    const thief = await m.api.register({ hostname: 'h1', agentId, secret: otherSecret });
    expect(thief.status).toBe(403);
    expect((await m.api.heartbeat(agentId, otherSecret, { epoch: first.body.epoch })).status).toBe(401);
    expect((await m.api.heartbeat(agentId, secret, { epoch: first.body.epoch })).status).toBe(200);
  });

  it('a retry in a later epoch re-registers the agent', async () => {
    const { m } = await started(0);
    await m.api.register({ hostname: 'h1', agentId, secret });
    m.clock.advance(5 * MINUTE);
    const { epoch } = await m.sweep();
    const retry = await m.api.register({ hostname: 'h1', agentId, secret });
    expect(retry.status).toBe(201);
    expect(retry.body.epoch).toBe(epoch);
    expect((await record(m, agentId))?.epoch).toBe(epoch);
  });
});

describe('machine identity', () => {
  it('a registration whose machineId matches an older record and presents its secret marks that record gone, with the reason', async () => {
    const { m } = await started(0);
    const older = await TestAgent.register(m, { machineId: 'machine-42' });
    const newer = await TestAgent.register(m, { machineId: 'machine-42', previousSecret: older.secret });
    expect(newer.id).not.toBe(older.id);
    const r = (await record(m, older.id))!;
    expect(r.status).toBe('gone');
    expect(r.events.at(-1)?.reason).toMatch(/machine machine-42 registered again as agent/);
    expect(r.events.at(-1)?.reason).toContain(newer.id);
    expect((await older.heartbeat(m)).status).toBe(410);
    expect((await newer.heartbeat(m)).status).toBe(200);
    const listed = await m.api.operator('GET', '/agents?machineId=machine-42&status=admitted');
    expect(listed.body.agents.map((a: { id: string }) => a.id)).toEqual([newer.id]);
  });
});

describe('drain, deactivate, reactivate (rule 9)', () => {
  it('flags are told to the agent with every heartbeat and kept across failover', async () => {
    const { m, agents } = await started(1);
    const [a] = agents as [TestAgent];
    expect((await m.api.operator('POST', `/agents/${a.id}/drain`, { maxGracePeriodSeconds: 3600 })).status).toBe(200);
    expect((await m.api.operator('POST', `/agents/${a.id}/deactivate`, {})).status).toBe(200);
    m.clock.advance(10 * MINUTE); // failover
    await m.sweep();
    expect((await a.heartbeat(m)).status).toBe(409);
    expect((await a.reregister(m)).status).toBe(200);
    const hb = await a.heartbeat(m);
    expect(hb.status).toBe(200);
    expect(hb.body).toMatchObject({ deactivated: true, drain: { state: 'draining', remainingSeconds: 3000 } });
    const drained = await a.heartbeat(m, { drained: true });
    expect(drained.body.drain).toEqual({ state: 'drained' });
    expect((await record(m, a.id))?.drain?.state).toBe('drained');
    expect((await m.api.operator('POST', `/agents/${a.id}/reactivate`, {})).status).toBe(200);
    const after = await a.heartbeat(m);
    expect(after.body.deactivated).toBe(false);
    expect(after.body.drain).toBeUndefined();
  });

  it('a drain with markGone marks the agent gone once it reports drained', async () => {
    const { m, agents } = await started(1);
    const [a] = agents as [TestAgent];
    await m.api.operator('POST', `/agents/${a.id}/drain`, { markGone: true });
    expect((await a.heartbeat(m, { drained: true })).status).toBe(410); // the agent learns it at once
    expect((await record(m, a.id))?.status).toBe('gone');
    expect((await a.heartbeat(m)).status).toBe(410);
  });
});

describe('an agent leaving', () => {
  it('DELETE removes its record; the id is then unknown', async () => {
    const { m, agents } = await started(1);
    const [a] = agents as [TestAgent];
    expect((await m.call('DELETE', `/api/v1/agents/${a.id}`, { token: a.secret })).status).toBe(204);
    expect(await record(m, a.id)).toBeUndefined();
    expect((await a.heartbeat(m)).status).toBe(404);
    expect((await m.call('DELETE', `/api/v1/agents/${a.id}`, { token: a.secret })).status).toBe(404);
  });
});

describe('prune (rule 14)', () => {
  it('removes unreachable and gone records after the retention, oldest first beyond the maximum', async () => {
    const { m, agents } = await started(5, { policy: { registryRetention: 60 * MINUTE, registryMaxEntries: 4 } });
    const [g1, g2, u1, ...live] = agents as [TestAgent, TestAgent, TestAgent, ...TestAgent[]];
    await m.api.operator('POST', `/agents/${g1.id}/gone`, {});
    m.clock.advance(SECOND);
    await m.api.operator('POST', `/agents/${g2.id}/gone`, {});
    // Five records, at most four: the oldest gone one goes at the next sweep.
    const first = await run(m, 5 * SECOND, { agents: [u1, ...live] });
    expect(first.flatMap((r) => r.pruned)).toEqual([g1.id]);
    // u1 falls silent and is marked; the rest are kept until the retention has passed.
    const reports = await run(m, 5 * MINUTE, { agents: live });
    expect(marked(reports)).toEqual([u1.id]);
    expect(reports.flatMap((r) => r.pruned)).toEqual([]);
    const later = await run(m, 60 * MINUTE, { agents: live });
    expect(later.flatMap((r) => r.pruned).sort()).toEqual([g2.id, u1.id].sort());
    for (const a of live) expect((await record(m, a.id))?.status).toBe('admitted');
  });
});

describe('rate limit (rule 10)', () => {
  it('marks at most the limit per period, oldest lastSeenAt first', async () => {
    const { m, agents } = await started(0, { policy: { unreachableRateLimit: { count: 2, per: MINUTE }, recoveryUnreachableMinimum: 1_000 } });
    // Agents registered a few seconds apart and then all silent.
    for (let i = 0; i < 5; i++) {
      agents.push(await TestAgent.register(m));
      m.clock.advance(SECOND);
    }
    const keep = [await TestAgent.register(m)];
    await m.sweep(); // so that all five are overdue at the same sweep
    const reports = await run(m, 5 * MINUTE, { agents: keep });
    const batches = reports.filter((r) => r.marked.length > 0);
    expect(batches.flatMap((r) => r.marked)).toEqual(agents.map((a) => a.id));
    expect(batches.map((r) => r.marked.length)).toEqual([2, 2, 1]);
    // The budget is a fixed window of `per`: never more than `count` marks in one window.
    const budgets = batches.map((r) => reports.indexOf(r));
    expect(budgets[1]! - budgets[0]!).toBeGreaterThan(1);
    const { markBudget } = await masterRecord(m);
    expect(markBudget?.used).toBeLessThanOrEqual(2);
  });
});

describe('a master cached for up to maxClockSkew (rule 3)', () => {
  it('never sends an agent back to the epoch it left', async () => {
    const a = testMaster();
    const b = testMaster({ store: a.store, clock: a.clock });
    await a.sweep();
    const { agentId, secret: agentSecret, epoch: old } = (await a.api.register({ hostname: 'h1' })).body;
    // No sweeper runs: the lease lapses. Instance a reads (and caches) the master record just then.
    a.clock.advance(a.policy.masterLease + a.policy.maxClockSkew + 1);
    expect((await a.api.heartbeat(agentId, agentSecret, { epoch: old })).status).toBe(200);
    // Within a's cache lifetime, b's sweep starts a new epoch and the agent re-registers through b.
    a.clock.advance(a.policy.maxClockSkew / 4);
    await b.sweep();
    const current = (await b.api.reregister(agentId, agentSecret, { hostname: 'h1' })).body.epoch;
    expect(current).toBeGreaterThan(old);
    // Its next heartbeat reaches a, whose cache still says `old`: a must not send it back there.
    a.clock.advance(a.policy.maxClockSkew / 4);
    const beat = await a.api.heartbeat(agentId, agentSecret, { epoch: current });
    expect(beat.status).toBe(200);
    expect(beat.body.epoch).toBe(current);
    expect((await record(a, agentId))?.epoch).toBe(current);
  });
});
