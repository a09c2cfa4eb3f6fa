// The operator API over HTTP, driven as DESIGN.md's "HTTP API (v1)" writes it. Every operator
// response is checked for secrets: no secret hash, no agent secret, ever.
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { countingStore, reads } from '../../bench/counting-store.ts';
import { isCheck, type Store, type Write } from '../store.ts';
import { JOIN, OPERATOR, testMaster } from '../../test/support/master.ts';
import { createMaster } from './index.ts';
import {
  dump, expectError, failover, faultyStore, heldMaster, registerAgent, serve, servingMaster, type Agent, type TestMaster,
} from '../../test/support/master-http.ts';

const UNKNOWN_ID = '3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f';

/** Every operator response of a test, to be searched for secrets after it. */
let seen: { path: string; text: string }[] = [];
let secrets: string[] = [];
afterEach(() => {
  for (const { path, text } of seen) {
    expect(text, path).not.toContain('secretHash');
    expect(text, path).not.toContain('sha256:');
    for (const s of secrets) expect(text, path).not.toContain(s);
  }
  seen = [];
  secrets = [];
});

async function op(m: TestMaster, method: string, path: string, body?: unknown) {
  const res = await m.api.operator(method, path, body);
  seen.push({ path, text: typeof res.body === 'string' ? res.body : JSON.stringify(res.body ?? '') });
  return res;
}

async function agent(m: TestMaster, body: Record<string, unknown> = { hostname: 'a1' }): Promise<Agent> {
  const a = await registerAgent(m, body);
  secrets.push(a.secret);
  return a;
}

/** Every page of a listing, following cursors until none comes back. */
async function listAll(m: TestMaster, query: string) {
  const ids: string[] = [];
  let pages = 0;
  let cursor: string | undefined;
  do {
    const sep = query ? '&' : '';
    const res = await op(m, 'GET', `/agents?${query}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    ids.push(...res.body.agents.map((a: { id: string }) => a.id));
    cursor = res.body.cursor;
    pages++;
  } while (cursor !== undefined);
  return { ids: ids.sort(), pages };
}

const sorted = (agents: Agent[]) => agents.map((a) => a.id).sort();

describe('GET /api/v1/agents', () => {
  it('lists agents as records without secret hashes', async () => {
    const m = await servingMaster();
    const a = await agent(m, { hostname: 'a1', attributes: { rack: 'r1' } });
    const res = await op(m, 'GET', '/agents');
    expect(res.status).toBe(200);
    expect(res.body.cursor).toBeUndefined();
    expect(res.body.agents).toHaveLength(1);
    expect(res.body.agents[0]).toMatchObject({ id: a.id, status: 'admitted', info: { hostname: 'a1', attributes: { rack: 'r1' } } });
    expect(res.body.agents[0]).not.toHaveProperty('secretHash');
    expect(res.body.agents[0]).not.toHaveProperty('lastRequestId');
  });

  it('filters by each criterion', async () => {
    const m = await servingMaster();
    const a = await agent(m, { hostname: 'a', machineId: 'm-a', attributes: { rack: 'r1', zone: 'z1' } });
    const b = await agent(m, { hostname: 'b', machineId: 'm-b', attributes: { rack: 'r1', zone: 'z2' } });
    m.clock.advance(60_000);
    const c = await agent(m, { hostname: 'c', attributes: { rack: 'r2', note: 'x:y' } });
    const d = await agent(m, { hostname: 'd' });
    await op(m, 'POST', `/agents/${b.id}/drain`, {});
    await op(m, 'POST', `/agents/${c.id}/drain`, {});
    await m.api.heartbeat(c.id, c.secret, { epoch: c.epoch, drained: true });
    await op(m, 'POST', `/agents/${d.id}/gone`);
    const ids = async (query: string) => (await listAll(m, query)).ids;

    expect(await ids('status=admitted')).toEqual(sorted([a, b, c]));
    expect(await ids('status=gone')).toEqual([d.id]);
    expect(await ids('status=unreachable')).toEqual([]);
    expect(await ids('hostname=b')).toEqual([b.id]);
    expect(await ids('machineId=m-a')).toEqual([a.id]);
    expect(await ids(`idPrefix=${a.id.slice(0, 8)}`)).toEqual([a.id]);
    expect(await ids(`idPrefix=${a.id.slice(0, 8).toUpperCase()}`)).toEqual([a.id]);
    expect(await ids('attribute=rack:r1')).toEqual(sorted([a, b]));
    expect(await ids('attribute=rack:r1&attribute=zone:z2')).toEqual([b.id]);
    expect(await ids('attribute=note:x:y')).toEqual([c.id]);
    expect(await ids('attribute=rack:r9')).toEqual([]);
    const cutoff = m.clock.now() - 30_000; // a and b were last seen before it, c and d after
    expect(await ids(`lastSeenBefore=${cutoff}`)).toEqual(sorted([a, b]));
    expect(await ids(`lastSeenBefore=${encodeURIComponent(new Date(cutoff).toISOString())}`)).toEqual(sorted([a, b]));
    expect(await ids('drain=draining')).toEqual([b.id]);
    expect(await ids('drain=drained')).toEqual([c.id]);
    expect(await ids('drain=none')).toEqual(sorted([a, d]));
    expect(await ids('status=admitted&drain=none')).toEqual([a.id]);
    expect(await ids('pending=true')).toEqual([]);
    expect(await ids('pending=false')).toEqual(sorted([a, b, c, d]));
  });

  it('lists agents not yet re-registered in an open window as pending', async () => {
    const m = await servingMaster();
    const a = await agent(m);
    const b = await agent(m);
    await failover(m);
    expect((await m.api.reregister(a.id, a.secret)).status).toBe(200);
    expect((await listAll(m, 'pending=true')).ids).toEqual([b.id]);
    expect((await listAll(m, 'pending=false')).ids).toEqual([a.id]);
  });

  it('pages with limit and cursor until no cursor comes back, each agent once', async () => {
    const m = await servingMaster();
    const agents: Agent[] = [];
    for (let i = 0; i < 7; i++) agents.push(await agent(m, { hostname: `h${i}`, attributes: { odd: String(i % 2) } }));
    const all = await listAll(m, 'limit=2');
    expect(all.ids).toEqual(sorted(agents));
    expect(all.pages).toBeGreaterThanOrEqual(4);
    const first = await op(m, 'GET', '/agents?limit=2');
    expect(first.body.agents).toHaveLength(2);
    expect(first.body.cursor).toEqual(expect.any(String));
    // Filtering may leave a page short, yet the cursor still leads to the rest.
    const odd = await listAll(m, 'limit=2&attribute=odd:1');
    expect(odd.ids).toEqual(sorted(agents.filter((_, i) => i % 2 === 1)));
  });

  it.each([
    ['an unknown status', 'status=dead', 'status'],
    ['a limit of 0', 'limit=0', 'limit'],
    ['a limit that is no number', 'limit=ten', 'limit'],
    ['a limit over 1000', 'limit=1001', 'limit'],
    ['a fractional limit', 'limit=1.5', 'limit'],
    ['a malformed cursor', 'cursor=!!not-a-cursor!!', 'cursor'],
    ['a cursor that is valid base64url but no cursor', `cursor=${Buffer.from('[1,2]').toString('base64url')}`, 'cursor'],
    ['an attribute without a colon', 'attribute=rack', 'attribute'],
    ['lastSeenBefore that is no time', 'lastSeenBefore=yesterday', 'lastSeenBefore'],
    ['an unknown drain state', 'drain=maybe', 'drain'],
    ['pending that is not true or false', 'pending=yes', 'pending'],
    ['an idPrefix that cannot start an id', 'idPrefix=zz', 'idPrefix'],
  ])('refuses %s with 400', async (_, query, field) => {
    const m = await servingMaster();
    await agent(m);
    const res = await op(m, 'GET', `/agents?${query}`);
    expectError(res, 400, 'bad_request');
    expect(res.body.message).toContain(field);
  });

  it('refuses a cursor longer than the key limit allows with 400, never 503 or 500', async () => {
    const m = await servingMaster();
    await agent(m);
    // Well-formed, but it resumes after a key no store can hold: it used to reach the store.
    const longKey = Buffer.from(JSON.stringify({ after: `agents/${'x'.repeat(2_000)}` })).toString('base64url');
    for (const cursor of ['c'.repeat(5_000), longKey]) {
      const res = await op(m, 'GET', `/agents?cursor=${cursor}`);
      expectError(res, 400, 'bad_request');
      expect(res.body.message).toContain('cursor');
    }
  });
});

describe('GET /api/v1/agents/{agentId}', () => {
  it('returns the record without its secret hash, or 404', async () => {
    const m = await servingMaster();
    const a = await agent(m, { hostname: 'a1', port: 6000 });
    const res = await op(m, 'GET', `/agents/${a.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: a.id, status: 'admitted', epoch: a.epoch, deactivated: false, info: { hostname: 'a1', port: 6000 } });
    expect(res.body.registeredAt).toBe(m.clock.now());
    expect(res.body).not.toHaveProperty('secretHash');
    expectError(await op(m, 'GET', `/agents/${UNKNOWN_ID}`), 404, 'not_found');
  });
});

describe('POST /api/v1/agents/{agentId}/gone', () => {
  it('marks an agent gone once: 200 twice, one gone event by the operator, with the reason', async () => {
    const m = await servingMaster();
    const a = await agent(m);
    const first = await op(m, 'POST', `/agents/${a.id}/gone`, { reason: 'decommissioned' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: a.id, status: 'gone', goneAt: m.clock.now() });
    expect(first.body.events.at(-1)).toEqual({ at: m.clock.now(), type: 'gone', by: 'alice', reason: 'decommissioned' });
    const before = await dump(m.store);
    m.clock.advance(1_000);
    const second = await op(m, 'POST', `/agents/${a.id}/gone`, { reason: 'again' });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.body.events.filter((e: { type: string }) => e.type === 'gone')).toHaveLength(1);
    expect(await dump(m.store)).toEqual(before);
  });

  it('marks an unreachable agent gone', async () => {
    const m = await servingMaster();
    const a = await agent(m);
    await serve(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval);
    expect((await op(m, 'GET', `/agents/${a.id}`)).body.status).toBe('unreachable');
    expect((await op(m, 'POST', `/agents/${a.id}/gone`)).body.status).toBe('gone');
  });
});

describe('POST /api/v1/agents/{agentId}/drain · /deactivate · /reactivate', () => {
  it('drains with a grace period and markGone, recording who and why', async () => {
    const m = await servingMaster();
    const a = await agent(m);
    const res = await op(m, 'POST', `/agents/${a.id}/drain`, { maxGracePeriodSeconds: 120, markGone: true, reason: 'kernel upgrade' });
    expect(res.status).toBe(200);
    expect(res.body.drain).toMatchObject({ state: 'draining', deadline: m.clock.now() + 120_000 });
    expect(res.body.status).toBe('admitted');
    expect(res.body.events.at(-1)).toEqual({ at: m.clock.now(), type: 'drain', by: 'alice', reason: 'kernel upgrade' });
  });

  it('drains without a limit', async () => {
    const m = await servingMaster();
    const a = await agent(m);
    const res = await op(m, 'POST', `/agents/${a.id}/drain`);
    expect(res.status).toBe(200);
    expect(res.body.drain).toEqual({ state: 'draining' });
    expect(res.body.events.at(-1)).toEqual({ at: m.clock.now(), type: 'drain', by: 'alice' });
  });

  it('deactivates and reactivates; reactivate clears drain and deactivation', async () => {
    const m = await servingMaster();
    const a = await agent(m);
    const off = await op(m, 'POST', `/agents/${a.id}/deactivate`, { reason: 'flaky disk' });
    expect(off.status).toBe(200);
    expect(off.body.deactivated).toBe(true);
    expect(off.body.events.at(-1)).toEqual({ at: m.clock.now(), type: 'deactivate', by: 'alice', reason: 'flaky disk' });
    await op(m, 'POST', `/agents/${a.id}/drain`, {});
    m.clock.advance(1_000);
    const on = await op(m, 'POST', `/agents/${a.id}/reactivate`, { reason: 'disk replaced' });
    expect(on.status).toBe(200);
    expect(on.body.deactivated).toBe(false);
    expect(on.body).not.toHaveProperty('drain');
    expect(on.body.events.at(-1)).toEqual({ at: m.clock.now(), type: 'reactivate', by: 'alice', reason: 'disk replaced' });
  });

  it('keeps the last 10 events', async () => {
    const m = await servingMaster();
    const a = await agent(m);
    for (let i = 0; i < 12; i++) {
      m.clock.advance(1_000);
      const res = await op(m, 'POST', `/agents/${a.id}/${i % 2 === 0 ? 'deactivate' : 'reactivate'}`, { reason: `step ${i}` });
      expect(res.status).toBe(200);
    }
    const { body } = await op(m, 'GET', `/agents/${a.id}`);
    expect(body.events).toHaveLength(10);
    expect(body.events.map((e: { reason?: string }) => e.reason)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i + 2}`));
    expect(body.events.every((e: { by: string }) => e.by === 'alice')).toBe(true);
  });

  it('keeps a record built from the largest valid requests within the store limit, so the sweeper can still mark it', async () => {
    const m = await servingMaster();
    // A registration with as much info as allowed (4 KiB), then ten actions with reasons as long as allowed.
    const attributes = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, 'x'.repeat(960)]));
    const a = await agent(m, { hostname: 'big', attributes });
    const longest = 'é'.repeat(512); // 1024 bytes of UTF-8
    for (let i = 0; i < 10; i++) {
      const res = await op(m, 'POST', `/agents/${a.id}/${i % 2 === 0 ? 'deactivate' : 'reactivate'}`, { reason: longest });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    await serve(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval);
    expect((await op(m, 'GET', `/agents/${a.id}`)).body.status).toBe('unreachable');
    expect((await op(m, 'POST', `/agents/${a.id}/gone`, { reason: longest })).status).toBe(200);
  });

  it.each([
    ['1025 characters', 'r'.repeat(1025)],
    ['1024 characters that JSON escapes to 6 bytes each', '\u0001'.repeat(1024)],
    ['600 characters of 3 bytes each', '€'.repeat(600)],
  ])('refuses a reason of %s (400), changing nothing', async (_, reason) => {
    const m = await servingMaster();
    const a = await agent(m);
    const before = await dump(m.store);
    for (const action of ['gone', 'drain', 'deactivate', 'reactivate']) {
      const res = await op(m, 'POST', `/agents/${a.id}/${action}`, { reason });
      expectError(res, 400, 'bad_request');
      expect(res.body.message).toContain('reason');
    }
    expect(await dump(m.store)).toEqual(before);
  });

  it.each(['gone', 'drain', 'deactivate', 'reactivate'])('answers 404 for /%s on an unknown id', async (action) => {
    const m = await servingMaster();
    const before = await dump(m.store);
    expectError(await op(m, 'POST', `/agents/${UNKNOWN_ID}/${action}`, {}), 404, 'not_found');
    expect(await dump(m.store)).toEqual(before);
  });

  it.each(['drain', 'deactivate', 'reactivate'])('answers 410 for /%s on a gone agent, changing nothing', async (action) => {
    const m = await servingMaster();
    const a = await agent(m);
    await op(m, 'POST', `/agents/${a.id}/deactivate`);
    await op(m, 'POST', `/agents/${a.id}/gone`);
    const before = await dump(m.store);
    expectError(await op(m, 'POST', `/agents/${a.id}/${action}`, {}), 410, 'gone');
    expect(await dump(m.store)).toEqual(before);
  });

  it.each([
    ['gone', { reason: 42 }, 'reason'],
    ['deactivate', { reason: ['a'] }, 'reason'],
    ['drain', { maxGracePeriodSeconds: -1 }, 'maxGracePeriodSeconds'],
    ['drain', { maxGracePeriodSeconds: '60' }, 'maxGracePeriodSeconds'],
    ['drain', { markGone: 'yes' }, 'markGone'],
  ])('refuses /%s with a bad body %j (400), changing nothing', async (action, body, field) => {
    const m = await servingMaster();
    const a = await agent(m);
    const before = await dump(m.store);
    const res = await op(m, 'POST', `/agents/${a.id}/${action}`, body);
    expectError(res, 400, 'bad_request');
    expect(res.body.message).toContain(field);
    expect(await dump(m.store)).toEqual(before);
  });
});

describe('GET /api/v1/master', () => {
  it('reports the epoch, the lease, recovery and the counts', async () => {
    const m = await servingMaster();
    const [a, b] = [await agent(m), await agent(m)];
    await agent(m);
    await op(m, 'POST', `/agents/${a.id}/gone`);
    await serve(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval, [b]);
    const res = await op(m, 'GET', '/master');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      epoch: 1,
      leaseExpiresAt: expect.any(Number),
      recovery: { state: 'done' },
      counts: { admitted: 1, unreachable: 1, gone: 1 },
    });
    expect(res.body.leaseExpiresAt).toBeGreaterThan(m.clock.now());
  });

  it('reports the counts as of the last sweep, which counts a registration made since', async () => {
    const m = await servingMaster();
    const sweptAt = m.clock.now();
    await agent(m);
    m.clock.advance(m.policy.sweepInterval / 4);
    const before = await op(m, 'GET', '/master');
    expect(before.body).toMatchObject({ counts: { admitted: 0, unreachable: 0, gone: 0 }, pending: 0, countsAt: sweptAt, lastSweepAt: sweptAt });
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep();
    const after = await op(m, 'GET', '/master');
    expect(after.body).toMatchObject({ counts: { admitted: 1, unreachable: 0, gone: 0 }, pending: 0, countsAt: m.clock.now() });
  });

  it('reads the store a constant number of times, whether 5 or 500 agents are registered', async () => {
    const readsFor = async (n: number) => {
      const counter = countingStore(createMemoryStore());
      const m = await servingMaster({ store: counter.store });
      for (let i = 0; i < n; i++) await agent(m, { hostname: `h${i}` });
      m.clock.advance(m.policy.sweepInterval);
      await m.sweep();
      counter.phase = 'master status';
      const res = await op(m, 'GET', '/master');
      expect(res.body.counts).toEqual({ admitted: n, unreachable: 0, gone: 0 });
      return reads(counter.tally('master status'));
    };
    const few = await readsFor(5);
    expect(await readsFor(500)).toBe(few);
    expect(few).toBeLessThanOrEqual(2);
  });

  it('counts the pending agents of a window, as of the last scan', async () => {
    const m = await servingMaster();
    const agents = [await agent(m, { hostname: 'p1' }), await agent(m, { hostname: 'p2' })];
    await failover(m);
    // The new epoch's sweep does not scan: the counts are the last scan's, from before the two registered.
    const stale = (await op(m, 'GET', '/master')).body;
    expect(stale).toMatchObject({ recovery: { state: 'recovering' }, counts: { admitted: 0 }, pending: 0 });
    expect(stale.countsAt).toBeLessThan(stale.startedAt);
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep();
    expect((await op(m, 'GET', '/master')).body).toMatchObject({ recovery: { state: 'recovering', admittedAtOpen: 2 }, counts: { admitted: 2 }, pending: 2 });
    expect((await m.api.reregister(agents[0]!.id, agents[0]!.secret, { hostname: 'p1' })).status).toBe(200);
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep();
    expect((await op(m, 'GET', '/master')).body).toMatchObject({ counts: { admitted: 2 }, pending: 1 });
  });

  it('corrects at the next sweep a count that assumed a mark which did not land', async () => {
    // The sweep counts its planned marks as done; here an operator changes the agent first.
    const inner = createMemoryStore();
    let beforeFencedCommit: (() => Promise<unknown>) | undefined;
    let fired = false;
    const store: Store = {
      get: (key) => inner.get(key),
      list: (prefix, opts) => inner.list(prefix, opts),
      async commit(writes: Write[]) {
        const hook = beforeFencedCommit;
        if (hook && writes.some((w) => isCheck(w) && w.key === 'master')) {
          beforeFencedCommit = undefined;
          fired = true;
          await hook();
        }
        return inner.commit(writes);
      },
      close: () => inner.close(),
    };
    const m = await servingMaster({ store });
    const a = await agent(m);
    beforeFencedCommit = () => op(m, 'POST', `/agents/${a.id}/gone`);
    for (let i = 0; !fired && i < 100; i++) {
      m.clock.advance(m.policy.sweepInterval);
      await m.sweep();
    }
    expect(fired, 'the sweep tried to mark the silent agent').toBe(true);
    expect((await op(m, 'GET', `/agents/${a.id}`)).body.status).toBe('gone');
    expect((await op(m, 'GET', '/master')).body.counts).toEqual({ admitted: 0, unreachable: 1, gone: 0 });
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep();
    expect((await op(m, 'GET', '/master')).body.counts).toEqual({ admitted: 0, unreachable: 0, gone: 1 });
  });

  it('counts by a scan when the master record was written before it kept counts', async () => {
    const m = await servingMaster();
    const item = (await m.store.get<Record<string, unknown>>('master'))!;
    const { counts: _c, pending: _p, countsAt: _a, ...old } = item.value;
    await m.store.commit([{ key: 'master', expect: item.version, put: old }]);
    const [a] = [await agent(m), await agent(m)];
    await op(m, 'POST', `/agents/${a.id}/gone`);
    const res = await op(m, 'GET', '/master');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ counts: { admitted: 1, unreachable: 0, gone: 1 }, pending: 0, countsAt: m.clock.now() });
  });

  it('answers 503 before the first sweep', async () => {
    const m = testMaster();
    const res = await op(m, 'GET', '/master');
    expectError(res, 503, 'unavailable');
    expect(res.headers.get('retry-after')).toBeTruthy();
  });
});

describe('POST /api/v1/master/recovery/release', () => {
  it('answers 409 when marking is not held', async () => {
    const m = await servingMaster();
    const before = await dump(m.store);
    expectError(await op(m, 'POST', '/master/recovery/release', {}), 409, 'not_held');
    expectError(await op(m, 'POST', '/master/recovery/release', { dryRun: true }), 409, 'not_held');
    expect(await dump(m.store)).toEqual(before);
  });

  it('reports a hold, lists what a release would mark on a dry run, and changes nothing', async () => {
    const { m, agents } = await heldMaster(3);
    for (const a of agents) secrets.push(a.secret);
    const status = await op(m, 'GET', '/master');
    expect(status.body.recovery).toMatchObject({ state: 'held', heldReason: expect.stringContaining('3 of 3') });
    expect(status.body.counts).toEqual({ admitted: 3, unreachable: 0, gone: 0 });
    expect(status.body.pending).toBe(3);
    expect((await listAll(m, 'pending=true')).ids).toEqual(sorted(agents));
    const before = await dump(m.store);
    const dry = await op(m, 'POST', '/master/recovery/release', { dryRun: true, reason: 'checking' });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ released: false, dryRun: true, recovery: { state: 'held' } });
    expect([...dry.body.wouldMark].sort()).toEqual(sorted(agents));
    expect(await dump(m.store)).toEqual(before);
  });

  it('releases a hold: the next sweep marks the missing agents', async () => {
    const { m, agents } = await heldMaster(3);
    for (const a of agents) secrets.push(a.secret);
    const res = await op(m, 'POST', '/master/recovery/release', { reason: 'the rack really died' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ released: true, dryRun: false, recovery: { state: 'done', releasedBy: 'alice', releaseReason: 'the rack really died' } });
    expect([...res.body.wouldMark].sort()).toEqual(sorted(agents));
    expect((await m.store.get<any>('master'))!.value.recovery.state).toBe('done');
    // Released, nobody is pending any more, though the counts wait for the next sweep.
    expect((await op(m, 'GET', '/master')).body).toMatchObject({ counts: { admitted: 3, unreachable: 0, gone: 0 }, pending: 0 });
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep();
    const status = await op(m, 'GET', '/master');
    expect(status.body.counts).toEqual({ admitted: 0, unreachable: 3, gone: 0 });
    expectError(await op(m, 'POST', '/master/recovery/release', {}), 409, 'not_held');
  });

  it('clears a hold by itself once the missing agents fall back under the limit', async () => {
    const { m, agents } = await heldMaster(4);
    for (const a of agents) secrets.push(a.secret);
    // Three of the four come back: one missing of four is under the limit, so the next sweep marks it.
    const epoch = (await op(m, 'GET', '/master')).body.epoch;
    for (const a of agents.slice(0, 3)) expect((await m.api.reregister(a.id, a.secret)).status).toBe(200);
    expect((await listAll(m, 'pending=true')).ids).toEqual([agents[3]!.id]);
    await serve(m, m.policy.sweepInterval, agents.slice(0, 3).map((a) => ({ ...a, epoch })));
    const status = await op(m, 'GET', '/master');
    expect(status.body.recovery.state).toBe('done');
    expect(status.body.counts).toEqual({ admitted: 3, unreachable: 1, gone: 0 });
    expect((await op(m, 'GET', `/agents/${agents[3]!.id}`)).body.status).toBe('unreachable');
  });

  it('refuses a bad body with 400', async () => {
    const { m } = await heldMaster(3);
    const before = await dump(m.store);
    const res = await op(m, 'POST', '/master/recovery/release', { dryRun: 'yes' });
    expectError(res, 400, 'bad_request');
    expect(res.body.message).toContain('dryRun');
    expect(await dump(m.store)).toEqual(before);
  });
});

describe('GET /api/v1/registry', () => {
  it('streams every record as NDJSON without secret hashes, ending with the count', async () => {
    const m = await servingMaster();
    const a = await agent(m, { hostname: 'a1', machineId: 'm-1' });
    const b = await agent(m, { hostname: 'b1' });
    await op(m, 'POST', `/agents/${b.id}/gone`);
    const res = await m.app.request('/api/v1/registry', { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const text = await res.text();
    seen.push({ path: '/registry', text });
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    const records = lines.slice(0, -1);
    expect(lines.at(-1)).toEqual({ end: true, count: records.length });
    const keys = records.map((r) => r.key).sort();
    expect(keys).toEqual([`agents/${a.id}`, `agents/${b.id}`, 'machines/m-1', 'master'].sort());
    for (const r of records) expect(r).toEqual({ key: expect.any(String), version: expect.any(String), value: expect.anything() });
    expect(records.find((r) => r.key === `agents/${b.id}`).value).toMatchObject({ id: b.id, status: 'gone' });
    expect(records.find((r) => r.key === 'master').value).toMatchObject({ epoch: 1 });
  });

  it('never exports the ticket signing keys', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    m.clock.advance(m.policy.heartbeatInterval);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })).body.ticket).toEqual(expect.any(String));
    expect(await m.store.get('ticket-keys')).toBeDefined();
    const exported = await m.call('GET', '/api/v1/registry', { token: OPERATOR });
    expect(exported.status).toBe(200);
    expect(JSON.stringify(exported.body)).toContain(`agents/${a.id}`);
    expect(JSON.stringify(exported.body)).not.toContain('ticket-keys');
  });

  it('ends with {"end":true,"count":0}-style totals even when empty of agents', async () => {
    const m = await servingMaster();
    const res = await m.app.request('/api/v1/registry', { headers: { authorization: `Bearer ${OPERATOR}` } });
    const lines = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({ end: true, count: 1 });
  });
  it('ends with an error line, not the end line, when the store fails midway', async () => {
    const store = faultyStore(createMemoryStore());
    const m = await servingMaster({ store });
    // More records than one page of the export's scan, written straight to the store.
    for (let batch = 0; batch < 44; batch++) {
      await store.commit(Array.from({ length: 25 }, (_, i) => ({ key: `agents/filler-${batch}-${i}`, expect: 'absent' as const, put: { id: `filler-${batch}-${i}` } })));
    }
    store.listsBeforeFailure = 1;
    const res = await m.app.request('/api/v1/registry', { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.end === true)).toBe(false);
    expect(lines.at(-1)).toMatchObject({ error: 'unavailable', count: lines.length - 1 });
    expect(lines.length - 1).toBeGreaterThan(0);
  });

  it('answers 503 when the store fails before the first line', async () => {
    const store = faultyStore(createMemoryStore());
    const m = await servingMaster({ store });
    store.listsBeforeFailure = 0;
    const res = await op(m, 'GET', '/registry');
    expectError(res, 503, 'unavailable');
  });
});

describe('operator credentials', () => {
  const endpoints: [string, string, unknown?][] = [
    ['GET', '/agents'],
    ['GET', `/agents/${UNKNOWN_ID}`],
    ['POST', `/agents/${UNKNOWN_ID}/gone`, {}],
    ['POST', `/agents/${UNKNOWN_ID}/drain`, {}],
    ['POST', `/agents/${UNKNOWN_ID}/deactivate`, {}],
    ['POST', `/agents/${UNKNOWN_ID}/reactivate`, {}],
    ['GET', '/master'],
    ['POST', '/master/recovery/release', {}],
    ['GET', '/registry'],
  ];

  it.each(endpoints)('%s %s refuses no credentials (401), a wrong token (401), the join token and an agent secret', async (method, path, body) => {
    const m = await servingMaster();
    const a = await agent(m);
    const before = await dump(m.store);
    const call = (token?: string) => m.call(method, `/api/v1${path}`, { ...(token ? { token } : {}), ...(body === undefined ? {} : { body }) });
    expectError(await call(), 401, 'unauthorized');
    expectError(await call('not-an-operator-token'), 401, 'unauthorized');
    expectError(await call(JOIN), 403, 'forbidden');
    expect([401, 403]).toContain((await call(a.secret)).status);
    expect(await dump(m.store)).toEqual(before);
  });

  it('takes any of several operator tokens and records its label', async () => {
    const m = await servingMaster();
    const app = createMaster({
      registrar: m.registrar,
      tokens: { join: [{ label: 'join', token: JOIN }], operator: [{ label: 'alice', token: OPERATOR }, { label: 'bob', token: 'bob-token-0123456789abc' }] },
    });
    const a = await agent(m);
    const res = await app.request(`/api/v1/agents/${a.id}/deactivate`, { method: 'POST', headers: { authorization: 'Bearer bob-token-0123456789abc' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    seen.push({ path: 'deactivate', text: JSON.stringify(body) });
    expect(body.events.at(-1)).toMatchObject({ type: 'deactivate', by: 'bob' });
  });
});
