// Fencing and concurrent sweepers (DESIGN.md, Semantics 3 and 6): only one sweeper starts an epoch,
// and a sweeper never acts on a stale view of the master record.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FakeClock } from '../../src/clock.ts';
import type { Store, Version, Write } from '../../src/store.ts';
import { testMaster } from '../support/master.ts';
import { SECOND, MINUTE, TestAgent, gate, interceptCommits, isFencedCommit, masterRecord, record, run, writesMaster } from './world.ts';

/**
 * Two instances on one store and one clock: `b` sweeps normally; `a` sweeps through a store that
 * can stop it at a chosen point. One agent falls silent and is overdue when `a` sweeps.
 */
async function twoSweepers(pauseWhere: 'after-master-write' | 'before-marking') {
  const inner = createMemoryStore();
  const clock = new FakeClock();
  const pause = gate();
  let armed = false;
  const paused = gate();
  const pausing = interceptCommits(inner, async (writes, commit) => {
    if (armed && pauseWhere === 'before-marking' && isFencedCommit(writes)) {
      armed = false;
      paused.open();
      await pause.opened;
      return commit();
    }
    const result = await commit();
    if (armed && pauseWhere === 'after-master-write' && writesMaster(writes)) {
      armed = false;
      paused.open();
      await pause.opened;
    }
    return result;
  });
  const b = testMaster({ store: inner, clock });
  const a = testMaster({ store: pausing, clock });
  await b.sweep();
  const agents = [await TestAgent.register(b), await TestAgent.register(b), await TestAgent.register(b), await TestAgent.register(b)];
  const [silent, ...live] = agents as [TestAgent, ...TestAgent[]];
  // Serve until just before the silent agent is overdue, then let it become overdue.
  await run(b, b.policy.agentTimeout + b.policy.livenessGranularity - 5 * SECOND, { agents: live });
  clock.advance(6 * SECOND);
  armed = true;
  const sweepA = a.sweep();
  await paused.opened;
  return { a, b, clock, silent, live, sweepA, resume: pause.open };
}

describe('fencing (rule 6)', () => {
  it('a paused sweeper waking after another started a new epoch cannot mark (fencing)', async () => {
    const { b, clock, silent, sweepA, resume } = await twoSweepers('after-master-write');
    // A wrote its lease and planned to mark the silent agent, then stalled past its lease.
    clock.advance(b.policy.masterLease + b.policy.maxClockSkew + SECOND);
    const other = await b.sweep();
    expect(other.step).toBe('new-epoch');
    resume();
    const report = await sweepA;
    expect(report).toMatchObject({ outcome: 'lease', marked: [] });
    expect(await record(b, silent.id)).toMatchObject({ status: 'admitted' });
    expect((await masterRecord(b)).epoch).toBe(other.epoch);
  });

  it('a sweeper that stalls after its lease check is still stopped by the master check in its commit', async () => {
    const { b, clock, silent, sweepA, resume } = await twoSweepers('before-marking');
    clock.advance(b.policy.masterLease + b.policy.maxClockSkew + SECOND);
    const other = await b.sweep();
    expect(other.step).toBe('new-epoch');
    resume();
    const report = await sweepA;
    expect(report).toMatchObject({ outcome: 'lost', marked: [] });
    expect(await record(b, silent.id)).toMatchObject({ status: 'admitted' });
  });

  it('the same stalled sweeper marks when nobody else wrote the master meanwhile', async () => {
    // The control: without the other sweeper, the planned mark goes through.
    const { a, silent, sweepA, resume } = await twoSweepers('before-marking');
    resume();
    expect((await sweepA).marked).toEqual([silent.id]);
    expect((await record(a, silent.id))?.status).toBe('unreachable');
  });

  it('a sweeper that read the registry before another wrote the master record writes nothing', async () => {
    const inner = createMemoryStore();
    const clock = new FakeClock();
    const pause = gate();
    const reached = gate();
    let armed = false;
    const a = testMaster({
      store: interceptCommits(inner, async (writes, commit) => {
        if (armed && writesMaster(writes)) {
          armed = false;
          reached.open();
          await pause.opened;
        }
        return commit();
      }),
      clock,
    });
    const b = testMaster({ store: inner, clock });
    await b.sweep();
    const silent = await TestAgent.register(b);
    clock.advance(10 * MINUTE);
    armed = true;
    const sweepA = a.sweep(); // read a lapsed lease and an overdue agent
    await reached.opened;
    const other = await b.sweep();
    expect(other.step).toBe('new-epoch');
    const before = await masterRecord(b);
    pause.open();
    expect(await sweepA).toMatchObject({ outcome: 'lost', marked: [] });
    expect(await masterRecord(b)).toEqual(before);
    expect((await record(b, silent.id))?.status).toBe('admitted');
  });
});

describe('concurrent sweepers', () => {
  /** Several instances on one store whose commits reach it after a random number of turns. */
  function instances(n: number, seed: number) {
    let s = seed;
    const random = () => {
      s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
      return s / 2 ** 31;
    };
    const inner = createMemoryStore();
    const clock = new FakeClock();
    const jittery = (store: Store): Store =>
      interceptCommits(store, async (_writes: Write[], commit: () => Promise<Record<string, Version>>) => {
        for (let i = Math.floor(random() * 5); i > 0; i--) await new Promise<void>((resolve) => setImmediate(resolve));
        return commit();
      });
    return { inner, clock, masters: Array.from({ length: n }, () => testMaster({ store: jittery(inner), clock })) };
  }

  it('exactly one of concurrent first sweeps writes the first master record', async () => {
    const { masters, inner } = instances(5, 1);
    const reports = await Promise.all(masters.map((m) => m.sweep()));
    expect(reports.filter((r) => r.step === 'first-start' && r.outcome === 'done')).toHaveLength(1);
    expect((await inner.get<{ epoch: number }>('master'))?.value.epoch).toBe(1);
  });

  it('concurrent sweepers: exactly one starts the new epoch', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { masters, clock, inner } = instances(5, seed);
      await masters[0]!.sweep();
      for (let i = 0; i < 3; i++) await TestAgent.register(masters[i]!);
      clock.advance(5 * MINUTE);
      const reports = await Promise.all(masters.map((m) => m.sweep()));
      const starters = reports.filter((r) => r.outcome === 'done' && r.step === 'new-epoch');
      expect(starters, `seed ${seed}`).toHaveLength(1);
      const { epoch, recovery } = (await inner.get<{ epoch: number; recovery: { state: string } }>('master'))!.value;
      expect(epoch).toBe(starters[0]!.epoch);
      expect(recovery.state).toBe('recovering');
      for (const r of reports) {
        if (r === starters[0]) continue;
        // Every other sweeper either lost the race or renewed the winner's lease in the same epoch.
        expect(r.outcome === 'lost' || (r.step === 'renewed' && r.epoch === epoch), JSON.stringify(r)).toBe(true);
        expect(r.marked).toEqual([]);
      }
      expect(reports.filter((r) => r.outcome === 'lost').length).toBeGreaterThan(0);
    }
  });
});
