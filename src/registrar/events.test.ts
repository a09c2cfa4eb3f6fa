// The event log: each transition writes exactly its event in the commit that makes it, a failed
// commit writes none, heartbeats write none, and the sweep prunes what has expired.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { dump, faultyStore, failover, heldMaster, registerAgent, serve, servingMaster } from '../../test/support/master-http.ts';
import { isPut, type Store, type Write } from '../store.ts';
import { EVENT_PREFIX, EVENT_RETENTION, PRUNE_BLOCK, eventWrites, expiredStretch, restampEvents, stampOfId, stampPrefixes, type RegistryEvent } from './events.ts';

/** The store, keeping every commit it applied. */
function recording(inner: Store): { store: Store; commits: Write[][] } {
  const commits: Write[][] = [];
  const store: Store = {
    get: (key) => inner.get(key),
    list: (prefix, opts) => inner.list(prefix, opts),
    commit: async (writes) => {
      const versions = await inner.commit(writes);
      commits.push(writes);
      return versions;
    },
    close: () => inner.close(),
  };
  return { store, commits };
}

const eventsIn = (writes: Write[]) => writes.filter((w) => w.key.startsWith(EVENT_PREFIX)).map((w) => (isPut(w) ? (w.put as RegistryEvent) : undefined));
const types = (writes: Write[]) => eventsIn(writes).map((e) => e?.type);

async function logged(m: Awaited<ReturnType<typeof servingMaster>>) {
  const all = [];
  for await (const e of m.registrar.events(0, m.clock.now() + 1)) all.push(e);
  return all;
}

describe('stamp prefixes', () => {
  it('cover a range exactly once, with few prefixes', () => {
    const from = 1_767_225_601_234;
    const to = from + EVENT_RETENTION + 5_678;
    const prefixes = stampPrefixes(from, to);
    expect(prefixes.length).toBeLessThan(100);
    // Each stamp in the range is under exactly one prefix; those just outside under none.
    for (const stamp of [from, from + 1, from + 999, to - 1, from + 1_800_000]) {
      const key = `${EVENT_PREFIX}${String(stamp).padStart(15, '0')}-x-00`;
      expect(prefixes.filter((p) => key.startsWith(p))).toHaveLength(1);
    }
    for (const stamp of [from - 1, to]) {
      const key = `${EVENT_PREFIX}${String(stamp).padStart(15, '0')}-x-00`;
      expect(prefixes.filter((p) => key.startsWith(p))).toHaveLength(0);
    }
  });

  it('is one prefix for an aligned second', () => {
    expect(stampPrefixes(1_767_225_601_000, 1_767_225_602_000)).toEqual([`${EVENT_PREFIX}001767225601`]);
  });

  it('restamps event keys as a commit is sent, keeping their size', () => {
    const [w] = eventWrites([{ type: 'AGENT_ADDED', agentId: 'a', at: 5 }], 5, 'tag');
    const [again] = restampEvents([w!], 1_767_225_601_000);
    expect(again!.key).toBe(`${EVENT_PREFIX}001767225601000-tag-00`);
    expect(again!.key.length).toBe(w!.key.length);
    expect(stampOfId(again!.key.slice(EVENT_PREFIX.length))).toBe(1_767_225_601_000);
  });
});

describe('event writes', () => {
  it('writes each agent transition\'s event in the commit that makes it', async () => {
    const { store, commits } = recording(createMemoryStore());
    const m = await servingMaster({ store });
    await registerAgent(m); // the first registration also creates the ticket keys
    commits.length = 0;
    const a = await registerAgent(m);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.some((w) => w.key === `agents/${a.id}`)).toBe(true);
    expect(types(commits[0]!)).toEqual(['AGENT_ADDED']);
    expect(eventsIn(commits[0]!)[0]).toMatchObject({ agentId: a.id, epoch: a.epoch, by: 'join' });

    const steps: [string, string][] = [
      ['/drain', 'AGENT_DRAINING'],
      ['/deactivate', 'AGENT_DEACTIVATED'],
      ['/reactivate', 'AGENT_REACTIVATED'],
      ['/gone', 'AGENT_GONE'],
    ];
    for (const [path, type] of steps) {
      commits.length = 0;
      const res = await m.api.operator('POST', `/agents/${a.id}${path}`, { reason: 'maintenance' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(commits.map(types)).toEqual([[type]]);
      expect(eventsIn(commits[0]!)[0]).toMatchObject({ agentId: a.id, by: 'alice', reason: 'maintenance' });
    }
    // Marking gone again changes nothing, so it writes no event.
    commits.length = 0;
    await m.api.operator('POST', `/agents/${a.id}/gone`);
    expect(commits.flatMap(types)).toEqual([]);
    // The events never carry secrets.
    expect(JSON.stringify(await logged(m))).not.toMatch(/sha256:|secret/);
  });

  it('writes AGENT_REREGISTERED and AGENT_REMOVED for a re-registration and a leave', async () => {
    const { store, commits } = recording(createMemoryStore());
    const m = await servingMaster({ store });
    const a = await registerAgent(m);
    commits.length = 0;
    expect((await m.api.reregister(a.id, a.secret)).status).toBe(200);
    expect(commits.map(types)).toEqual([['AGENT_REREGISTERED']]);
    commits.length = 0;
    expect((await m.call('DELETE', `/api/v1/agents/${a.id}`, { token: a.secret })).status).toBe(204);
    expect(commits.map(types)).toEqual([['AGENT_REMOVED']]);
    expect(eventsIn(commits[0]!)[0]).toMatchObject({ agentId: a.id, by: a.id });
  });

  it('marks a replaced machine\'s older agent gone with its event in the same commit', async () => {
    const { store, commits } = recording(createMemoryStore());
    const m = await servingMaster({ store });
    const old = await registerAgent(m, { hostname: 'h', machineId: 'm-1' });
    commits.length = 0;
    await registerAgent(m, { hostname: 'h', machineId: 'm-1', previousSecret: old.secret });
    expect(commits.map(types)).toEqual([['AGENT_ADDED', 'AGENT_GONE']]);
    expect(eventsIn(commits[0]!)[1]).toMatchObject({ agentId: old.id, by: 'master' });
  });

  it('writes no event for heartbeats, including those that write lastSeenAt', async () => {
    const { store, commits } = recording(createMemoryStore());
    const m = await servingMaster({ store });
    const a = await registerAgent(m);
    commits.length = 0;
    await serve(m, 5 * m.policy.livenessGranularity, [a]);
    const agentWrites = commits.filter((c) => c.some((w) => w.key === `agents/${a.id}`));
    expect(agentWrites.length).toBeGreaterThanOrEqual(4); // the liveness writes
    for (const c of agentWrites) expect(c.map((w) => w.key)).toEqual([`agents/${a.id}`]);
    expect(commits.flatMap(types)).toEqual([]);
  });

  it('writes none when the commit fails, nor when its outcome is lost', async () => {
    for (const failure of ['writes-unavailable', 'lost-then-unknown'] as const) {
      const store = faultyStore(createMemoryStore());
      const m = await servingMaster({ store });
      const a = await registerAgent(m);
      const before = (await dump(store)).filter((i) => i.key.startsWith(EVENT_PREFIX));
      store.failure = failure;
      expect((await m.api.operator('POST', `/agents/${a.id}/gone`)).status).toBe(503);
      store.failure = 'none';
      expect((await dump(store)).filter((i) => i.key.startsWith(EVENT_PREFIX))).toEqual(before);
    }
  });

  it('writes AGENT_UNREACHABLE in the fenced commit that marks the agent', async () => {
    const { store, commits } = recording(createMemoryStore());
    const m = await servingMaster({ store });
    const a = await registerAgent(m);
    commits.length = 0;
    await serve(m, m.policy.agentTimeout + m.policy.livenessGranularity + 2 * m.policy.sweepInterval);
    const marking = commits.filter((c) => c.some((w) => w.key === `agents/${a.id}`));
    expect(marking).toHaveLength(1);
    expect(marking[0]!.some((w) => w.key === 'master' && 'check' in w)).toBe(true);
    expect(types(marking[0]!)).toEqual(['AGENT_UNREACHABLE']);
    expect(eventsIn(marking[0]!)[0]).toMatchObject({ agentId: a.id, by: 'master' });
    // It re-registers: reachable again.
    const res = await m.api.reregister(a.id, a.secret);
    expect(res.status).toBe(200);
    expect((await logged(m)).map((e) => e.event.type)).toEqual(['AGENT_ADDED', 'AGENT_UNREACHABLE', 'AGENT_REREGISTERED']);
  });

  it('writes the recovery transitions with the master writes that make them', async () => {
    const { m } = await heldMaster(3);
    const recovery = async () => (await logged(m)).filter((e) => e.event.type.startsWith('RECOVERY_')).map((e) => e.event.type);
    expect(await recovery()).toEqual(['RECOVERY_STARTED', 'RECOVERY_HELD']);
    const held = (await logged(m)).find((e) => e.event.type === 'RECOVERY_HELD')!;
    expect(held.event.reason).toMatch(/./);
    await m.registrar.releaseHold({ by: 'alice', reason: 'checked the rack' });
    const after = (await logged(m)).slice(-2).map((e) => e.event);
    expect(after).toMatchObject([
      { type: 'RECOVERY_RELEASED', by: 'alice', reason: 'checked the rack' },
      { type: 'RECOVERY_DONE' },
    ]);
  });

  it('writes RECOVERY_STARTED and RECOVERY_DONE around a window every agent re-registers in', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const epoch = await failover(m);
    expect((await m.api.reregister(a.id, a.secret)).status).toBe(200);
    await serve(m, m.policy.reregisterTimeout + m.policy.sweepInterval, [{ ...a, epoch }]);
    const recovery = (await logged(m)).filter((e) => e.event.type.startsWith('RECOVERY_')).map((e) => e.event);
    expect(recovery).toMatchObject([{ type: 'RECOVERY_STARTED', epoch }, { type: 'RECOVERY_DONE', epoch }]);
  });
});

describe('event retention', () => {
  it('prunes events past the retention a block at a time, listing the log about once a block', async () => {
    const inner = createMemoryStore();
    const prefixes: string[] = [];
    const store: Store = {
      ...inner,
      list: (prefix, opts) => {
        prefixes.push(prefix);
        return inner.list(prefix, opts);
      },
    };
    const m = await servingMaster({ store });
    await registerAgent(m);
    await registerAgent(m);
    const keys = async () => (await dump(inner)).filter((i) => i.key.startsWith(EVENT_PREFIX)).length;
    await serve(m, EVENT_RETENTION - m.policy.livenessGranularity);
    expect(await keys()).toBe(4); // two admissions, two marks
    await serve(m, 2 * PRUNE_BLOCK + 3 * m.policy.livenessGranularity);
    expect(await keys()).toBe(0);
    // Each block of the log was listed once, by the one sweep that pruned it, and never in full.
    const listed = prefixes.filter((p) => p.startsWith(EVENT_PREFIX));
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed.length).toBeLessThanOrEqual(Math.ceil((EVENT_RETENTION + 2 * PRUNE_BLOCK) / PRUNE_BLOCK) + 1);
  });

  it('prunes what expired during a long outage with a few listings, not one a block', async () => {
    const inner = createMemoryStore();
    let listings = 0;
    const store: Store = {
      ...inner,
      list: (prefix, opts) => {
        if (prefix.startsWith(EVENT_PREFIX)) listings++;
        return inner.list(prefix, opts);
      },
    };
    const m = await servingMaster({ store });
    await registerAgent(m);
    await registerAgent(m);
    // No master for thirty days (2,592 blocks of the log): the new epoch's first scan, a sweep after
    // the one that starts it, prunes them all.
    m.clock.advance(30 * 24 * 60 * 60_000);
    listings = 0;
    expect(await m.sweep()).toMatchObject({ outcome: 'done', step: 'new-epoch', scanned: false });
    m.clock.advance(m.policy.sweepInterval);
    expect(await m.sweep()).toMatchObject({ outcome: 'done', scanned: true });
    const left = (await dump(inner)).filter((i) => i.key.startsWith(EVENT_PREFIX)).map((i) => (i.value as RegistryEvent).type);
    expect(left).toEqual(['RECOVERY_STARTED']); // the new epoch's, written by this sweep
    expect(listings).toBeLessThan(200);
  });

  it('names the whole blocks whose end a stretch reaches', () => {
    expect(expiredStretch(1_500_000, 2_999_999)).toEqual([1_000_000, 2_000_000]);
    expect(expiredStretch(2_000_000, 2_999_999)).toBeUndefined();
    expect(expiredStretch(1_999_999, 4_000_000)).toEqual([1_000_000, 4_000_000]);
  });
});
