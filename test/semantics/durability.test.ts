// Nothing acknowledged is lost (DESIGN.md, Semantics 8 and 11): a 2xx means the change is in the
// store, an unknown outcome is answered only from what the store shows, and no late write wins.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { StoreUnavailableError } from '../../src/store.ts';
import { testMaster } from '../support/master.ts';
import { MINUTE, SECOND, TestAgent, gate, interceptCommits, isFencedCommit, record, run } from './world.ts';

type Fault = 'applied-then-unknown' | 'unknown-not-applied' | 'not-applied';

/** A master whose store fails its next commit (or every commit) the way the test says. */
async function faulty() {
  let next: Fault | undefined;
  let always: Fault | undefined;
  let commits = 0;
  const inner = createMemoryStore();
  const store = interceptCommits(inner, async (_writes, commit) => {
    const fault = always ?? next;
    next = undefined;
    commits++;
    if (fault === 'applied-then-unknown') {
      await commit();
      throw new StoreUnavailableError('timed out after sending', { outcome: 'unknown' });
    }
    if (fault === 'unknown-not-applied') throw new StoreUnavailableError('timed out before sending', { outcome: 'unknown' });
    if (fault === 'not-applied') throw new StoreUnavailableError('throttled');
    return commit();
  });
  const m = testMaster({ store });
  await m.sweep();
  const agentCount = async () => (await inner.list('agents/', { limit: 1000 })).items.length;
  return {
    m,
    agentCount,
    commits: () => commits,
    failNext: (f: Fault) => {
      next = f;
    },
    failAlways: (f: Fault | undefined) => {
      always = f;
    },
  };
}

const agentId = '6f1c2b1e-7d3a-4c55-9b1e-0a2b3c4d5e6f';
const secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0';

describe('unknown outcomes (rule 11)', () => {
  it('a store error after the write was applied never yields a wrong 2xx or a duplicate agent', async () => {
    const { m, failNext, agentCount } = await faulty();

    failNext('applied-then-unknown');
    const reg = await m.api.register({ hostname: 'h1' });
    expect(reg.status).toBe(201);
    expect(await agentCount()).toBe(1);
    const a = new TestAgent(m, reg.body, { hostname: 'h1' });
    expect((await record(m, a.id))?.status).toBe('admitted');

    m.clock.advance(m.policy.livenessGranularity);
    failNext('applied-then-unknown');
    expect((await a.heartbeat(m)).status).toBe(200);
    expect((await record(m, a.id))?.lastSeenAt).toBe(m.clock.now());

    failNext('applied-then-unknown');
    expect((await m.api.reregister(a.id, a.secret, { hostname: 'h1', version: '2' })).status).toBe(200);
    expect((await record(m, a.id))?.info.version).toBe('2');

    failNext('applied-then-unknown');
    expect((await m.api.operator('POST', `/agents/${a.id}/drain`, { maxGracePeriodSeconds: 60 })).status).toBe(200);
    expect((await record(m, a.id))?.drain?.state).toBe('draining');

    failNext('applied-then-unknown');
    expect((await m.call('DELETE', `/api/v1/agents/${a.id}`, { token: a.secret })).status).toBe(204);
    expect(await record(m, a.id)).toBeUndefined();
    expect(await agentCount()).toBe(0);
  });

  it('a write whose outcome is unknown and that the store does not show is a 503, never a 2xx', async () => {
    const { m, failNext, agentCount } = await faulty();

    failNext('unknown-not-applied');
    const reg = await m.api.register({ hostname: 'h1' });
    expect(reg.status).toBe(503);
    expect(reg.headers.get('retry-after')).toBeTruthy();
    expect(await agentCount()).toBe(0);

    const a = await TestAgent.register(m);
    const before = await record(m, a.id);
    m.clock.advance(m.policy.livenessGranularity);
    failNext('unknown-not-applied');
    expect((await a.heartbeat(m)).status).toBe(503);
    expect(await record(m, a.id)).toEqual(before);

    failNext('unknown-not-applied');
    expect((await m.api.operator('POST', `/agents/${a.id}/gone`, {})).status).toBe(503);
    expect((await record(m, a.id))?.status).toBe('admitted');

    failNext('unknown-not-applied');
    expect((await m.call('DELETE', `/api/v1/agents/${a.id}`, { token: a.secret })).status).toBe(503);
    expect(await record(m, a.id)).toBeDefined();

    // The store is fine again: the same requests succeed.
    expect((await a.heartbeat(m)).status).toBe(200);
    expect((await record(m, a.id))?.lastSeenAt).toBe(m.clock.now());
  });

  it('a registration with the agent’s own id is the same agent however often it is retried after a lost answer', async () => {
    const { m, failNext, agentCount } = await faulty();
    failNext('unknown-not-applied');
    expect((await m.api.register({ hostname: 'h1', agentId, secret })).status).toBe(503);
    failNext('applied-then-unknown');
    const first = await m.api.register({ hostname: 'h1', agentId, secret });
    expect(first.status).toBe(201);
    const again = await m.api.register({ hostname: 'h1', agentId, secret });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ agentId, secret, epoch: first.body.epoch });
    expect(await agentCount()).toBe(1);
  });

  it('retries transient errors that certainly did not apply, and answers 503 when they persist', async () => {
    const { m, failNext, failAlways, agentCount, commits } = await faulty();
    failNext('not-applied');
    expect((await m.api.register({ hostname: 'h1' })).status).toBe(201);
    failAlways('not-applied');
    const before = commits();
    expect((await m.api.register({ hostname: 'h2' })).status).toBe(503);
    expect(commits() - before).toBeGreaterThan(1);
    failAlways(undefined);
    expect(await agentCount()).toBe(1);
  });

  it('a registration that replaces a machine’s older agent changes all of it or nothing', async () => {
    const { m, failNext, agentCount } = await faulty();
    const older = await TestAgent.register(m, { machineId: 'machine-7' });
    failNext('unknown-not-applied');
    expect((await m.api.register({ hostname: 'reinstalled', machineId: 'machine-7', previousSecret: older.secret })).status).toBe(503);
    expect(await agentCount()).toBe(1);
    expect((await record(m, older.id))?.status).toBe('admitted');
    expect((await m.store.get<{ agentId: string }>('machines/machine-7'))?.value.agentId).toBe(older.id);
  });
});

describe('nothing acknowledged is lost (rule 11)', () => {
  it('concurrent changes to one agent that were all acknowledged are all in the store', async () => {
    const { m } = await faulty();
    const a = await TestAgent.register(m);
    m.clock.advance(m.policy.livenessGranularity);
    const now = m.clock.now();
    const answers = await Promise.all([
      a.heartbeat(m),
      m.api.operator('POST', `/agents/${a.id}/drain`, { reason: 'upgrade' }),
      m.api.operator('POST', `/agents/${a.id}/deactivate`, { reason: 'upgrade' }),
      m.api.reregister(a.id, a.secret, { hostname: 'h', attributes: { rack: 'r9' } }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const r = (await record(m, a.id))!;
    expect(r).toMatchObject({ status: 'admitted', deactivated: true, drain: { state: 'draining' }, lastSeenAt: now, info: { attributes: { rack: 'r9' } } });
    expect(r.events.map((e) => e.type).sort()).toEqual(['admitted', 'deactivate', 'drain', 'reregistered']);
  });

  it('a heartbeat acknowledged while the sweeper was about to mark the agent wins; the mark is dropped', async () => {
    const inner = createMemoryStore();
    const pause = gate();
    const reached = gate();
    let armed = false;
    const m = testMaster({
      store: interceptCommits(inner, async (writes, commit) => {
        if (armed && isFencedCommit(writes)) {
          armed = false;
          reached.open();
          await pause.opened;
        }
        return commit();
      }),
    });
    await m.sweep();
    const [late, ...live] = [await TestAgent.register(m), await TestAgent.register(m), await TestAgent.register(m)] as [TestAgent, ...TestAgent[]];
    await run(m, m.policy.agentTimeout + m.policy.livenessGranularity - 5 * SECOND, { agents: live });
    m.clock.advance(6 * SECOND);
    armed = true;
    const sweeping = m.sweep(); // plans to mark `late`
    await reached.opened;
    const hb = await late.heartbeat(m); // ... which heartbeats just before the mark is committed
    expect(hb.status).toBe(200);
    pause.open();
    expect((await sweeping).marked).toEqual([]);
    expect(await record(m, late.id)).toMatchObject({ status: 'admitted', lastSeenAt: m.clock.now() });
  });

  it('a late heartbeat never resurrects a gone agent', async () => {
    const inner = createMemoryStore();
    const pause = gate();
    const reached = gate();
    let armed = false;
    const m = testMaster({
      store: interceptCommits(inner, async (_writes, commit) => {
        if (armed) {
          armed = false;
          reached.open();
          await pause.opened;
        }
        return commit();
      }),
    });
    await m.sweep();
    const a = await TestAgent.register(m);
    m.clock.advance(2 * MINUTE);
    armed = true;
    const heartbeat = a.heartbeat(m); // read the admitted record; its write is in flight
    await reached.opened;
    expect((await m.api.operator('POST', `/agents/${a.id}/gone`, { reason: 'retired' })).status).toBe(200);
    pause.open();
    expect((await heartbeat).status).toBe(410);
    expect(await record(m, a.id)).toMatchObject({ status: 'gone' });
  });

  it('every acknowledged registration, heartbeat and operator action is in the store after a restart', async () => {
    const store = createMemoryStore();
    const m = testMaster({ store });
    await m.sweep();
    const agents = [await TestAgent.register(m), await TestAgent.register(m)];
    await run(m, 2 * MINUTE, { agents });
    expect((await m.api.operator('POST', `/agents/${agents[0]!.id}/deactivate`, {})).status).toBe(200);
    const seen = await Promise.all(agents.map(async (a) => (await record(m, a.id))!.lastSeenAt));
    // A new instance (nothing in memory) on the same store sees all of it.
    const next = testMaster({ store, clock: m.clock });
    for (const [i, a] of agents.entries()) {
      const view = await next.api.operator('GET', `/agents/${a.id}`);
      expect(view.status).toBe(200);
      expect(view.body.lastSeenAt).toBe(seen[i]);
      expect(view.body.secretHash).toBeUndefined();
    }
    expect((await next.api.operator('GET', `/agents/${agents[0]!.id}`)).body.deactivated).toBe(true);
    expect((await agents[1]!.heartbeat(next)).status).toBe(200);
  });
});
