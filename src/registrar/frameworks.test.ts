// The registrar's framework calls and the sweeper's framework part on a fake clock and the memory
// store: fencing (rule 6), a change meanwhile winning over a sweep's verdict, prune with a tombstone
// (rule 8), and no secret hash leaving the registry.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { worldStore } from '../../test/semantics/world.ts';
import { testMaster } from '../../test/support/master.ts';
import { FakeClock } from '../clock.ts';
import type { FrameworkRecord, MasterRecord } from '../registry/index.ts';
import { RefusedError } from './core.ts';
import { frameworkSweeper } from './framework-sweeper.ts';

const SECOND = 1_000;
const CHOSEN_ID = '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f';
const CHOSEN_SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA';

async function started() {
  const clock = new FakeClock();
  const store = worldStore(createMemoryStore(), clock);
  const m = testMaster({ store, clock });
  await m.sweep();
  const r = m.registrar;
  const record = async (id: string) => (await store.get<FrameworkRecord>(`frameworks/${id}`))?.value;
  const master = async () => (await store.get<MasterRecord>('master'))!;
  /**
   * Sweeps every interval until a framework seen now is nearly overdue, then lets it become overdue
   * with no sweep since (the lease still holds): the next sweep, or a stale one, would judge it.
   */
  const silence = async () => {
    const due = clock.now() + m.policy.agentTimeout + m.policy.livenessGranularity;
    while (clock.now() + m.policy.sweepInterval < due) {
      clock.advance(m.policy.sweepInterval);
      await m.sweep();
    }
    clock.set(due + 1);
  };
  return { m, r, clock, store, record, master, silence };
}

describe('the sweeper’s framework verdicts are fenced (rule 6)', () => {
  it('changes nothing when another sweeper wrote master since (a stale view)', async () => {
    const { m, r, record, master, silence } = await started();
    const { record: fw } = await r.registerFramework({ info: { name: 'f' }, by: 'test' });
    await silence();
    const stale = await master();
    m.clock.advance(m.policy.sweepInterval);
    expect((await m.sweep()).frameworks?.disconnected).toEqual([fw.id]); // another sweep: master has a new version now
    // The stale view would complete it (failover timeout 0): fenced out.
    const sweeper = frameworkSweeper(r.core);
    const report = await sweeper.sweepFrameworks(stale.value, stale.version, m.clock.now(), await sweeper.readFrameworks());
    expect(report.stopped).toBe('lost');
    expect(report.completed).toEqual([]);
    expect((await record(fw.id))?.status).toBe('disconnected');
  });

  it('acts only before leaseExpiresAt − maxClockSkew of the version it holds', async () => {
    const { m, r, record, master, silence } = await started();
    const { record: fw } = await r.registerFramework({ info: { name: 'f' }, by: 'test' });
    await silence();
    const held = await master();
    m.clock.set(held.value.leaseExpiresAt - m.policy.maxClockSkew); // a paused sweeper wakes at the end of its lease
    const sweeper = frameworkSweeper(r.core);
    const report = await sweeper.sweepFrameworks(held.value, held.version, m.clock.now(), await sweeper.readFrameworks());
    expect(report.stopped).toBe('lease');
    expect((await record(fw.id))?.status).toBe('active');
  });

  it('a heartbeat landing between the scan and the verdict wins: the framework stays active', async () => {
    const { m, r, store, record, silence } = await started();
    const { record: fw, secret } = await r.registerFramework({ info: { name: 'f' }, by: 'test' });
    await silence();
    let beat = false;
    const list = store.list.bind(store);
    store.list = (async (prefix: string, opts?: { cursor?: string; limit?: number }) => {
      const page = await list(prefix, opts);
      // Lands after the frameworks' page is read, before the verdict is written.
      if (prefix === 'frameworks/' && !beat) {
        beat = true;
        await r.frameworkHeartbeat(fw.id, secret, { epoch: fw.epoch });
      }
      return page;
    }) as typeof store.list;
    const report = await m.sweep();
    expect(beat).toBe(true);
    expect(report.frameworks?.disconnected).toEqual([]);
    expect((await record(fw.id))?.status).toBe('active');
  });
});

describe('completed frameworks are pruned like gone agents (rules 8, 14)', () => {
  it('prunes after the retention and leaves a tombstone: the chosen id cannot register again', async () => {
    const { m, r, store, record } = await started();
    await r.registerFramework({ info: { name: 'f' }, by: 'test', frameworkId: CHOSEN_ID, secret: CHOSEN_SECRET });
    await r.teardownFramework(CHOSEN_ID, { by: 'alice' });
    m.clock.advance(m.policy.registryRetention + SECOND);
    expect(await m.sweep()).toMatchObject({ step: 'new-epoch', scanned: false }); // no master all that time
    m.clock.advance(m.policy.sweepInterval);
    const report = await m.sweep();
    expect(report.frameworks?.pruned).toEqual([CHOSEN_ID]);
    expect(await record(CHOSEN_ID)).toBeUndefined();
    expect(await store.get(`tombstones/${CHOSEN_ID}`)).toBeDefined();
    const again = r.registerFramework({ info: { name: 'f' }, by: 'test', frameworkId: CHOSEN_ID, secret: CHOSEN_SECRET });
    await expect(again).rejects.toBeInstanceOf(RefusedError);
    await expect(again).rejects.toMatchObject({ refusal: { refused: 'gone' } });
  });
});

describe('the registry export', () => {
  it('never carries a framework’s secret hash nor the registrar’s bookkeeping', async () => {
    const { r } = await started();
    await r.registerFramework({ info: { name: 'f' }, by: 'test' });
    const exported = [];
    for await (const item of r.exportRegistry()) exported.push(item);
    const framework = exported.find((i) => i.key.startsWith('frameworks/'));
    expect(framework?.value).toMatchObject({ info: { name: 'f' }, status: 'active' });
    expect(JSON.stringify(exported)).not.toMatch(/secretHash|lastRequestId/);
  });
});
