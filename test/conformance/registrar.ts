// The registrar on top of each adapter: many registrar instances sharing one store, as many
// stateless masters would, must never lose an update, admit an agent twice, or start two epochs.
import { describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../src/clock.ts';
import type { AgentRecord } from '../../src/registry/index.ts';
import { createRegistrar, MASTER_KEY, type Registrar } from '../../src/registrar.ts';
import { defaultPolicy } from '../support/master.ts';
import { openedStores, type StoreHandle, type StoreHarness } from './suite.ts';

export function testRegistrarOn(name: string, harness: StoreHarness): void {
  if (harness.skip) return;
  const slow = harness.slowness ?? 1;
  const { open, closeAfterEach } = openedStores(harness);
  const registrars = (handle: StoreHandle, n: number, clock = systemClock) =>
    Array.from({ length: n }, () => createRegistrar({ store: handle.store, clock, policy: defaultPolicy(), retryDeadlineMs: 10_000, maxConflictRetries: 50 }));

  describe(`registrar on ${name}`, { timeout: 300_000 * slow }, () => {
    closeAfterEach();

    it('loses no update with 8 registrars × 1,000 operations on shared records', async () => {
      const handle = await open();
      const instances = registrars(handle, 8);
      await instances[0]!.sweep();
      const agents = await Promise.all(Array.from({ length: 8 }, (_, i) => instances[0]!.register({ info: info(`host-${i}`), by: 'test' })));
      const ids = agents.map((a) => a.record.id);
      const opsEach = Math.max(100, Math.round(1000 / slow));
      const successes = await Promise.all(
        instances.map(async (r, i) => {
          let ok = 0;
          for (let n = 0; n < opsEach; n++) {
            const id = ids[(n * 7 + i * 3) % ids.length]!;
            try {
              await bump(r, id, `i${i}`);
              ok++;
            } catch (err) {
              if ((err as Error).name !== 'StoreUnavailableError') throw err;
            }
          }
          return ok;
        }),
      );
      const records = await Promise.all(ids.map(async (id) => (await instances[0]!.core.readAgent(id))!.value));
      for (const [i, ok] of successes.entries()) {
        const counted = records.reduce((sum, r) => sum + Number(r.info.attributes[`i${i}`] ?? 0), 0);
        expect(counted, `instance ${i}`).toBe(ok);
        expect(ok).toBeGreaterThan(opsEach * 0.9);
      }
    });

    it('admits each of 8 × 50 concurrent registrations exactly once', async () => {
      const handle = await open();
      const instances = registrars(handle, 8);
      await instances[0]!.sweep();
      const ids = (await Promise.all(instances.map((r, i) =>
        Promise.all(Array.from({ length: 50 }, (_, n) => r.register({ info: info(`h${i}-${n}`), by: 'test' }).then((a) => a.record.id))),
      ))).flat();
      expect(new Set(ids).size).toBe(400);
      const page = await instances[1]!.masterStatus();
      expect(page.counts.admitted).toBe(400);
    });

    it('starts exactly one new epoch when 8 sweepers find the lease lapsed at once', async () => {
      const handle = await open();
      const clock = new FakeClock();
      const instances = registrars(handle, 8, clock);
      await instances[0]!.sweep();
      await instances[0]!.register({ info: info('a'), by: 'test' });
      const before = (await handle.store.get<{ epoch: number }>(MASTER_KEY))!.value.epoch;
      clock.advance(defaultPolicy().masterLease + defaultPolicy().maxClockSkew + 1);
      const reports = await Promise.all(instances.map((r) => r.sweep().catch((e: Error) => ({ outcome: e.name }))));
      const epochs = reports.filter((r) => 'step' in r && r.step === 'new-epoch');
      expect(epochs).toHaveLength(1);
      expect(reports.filter((r) => r.outcome === 'lost').length + epochs.length).toBe(8);
      expect((await handle.store.get<{ epoch: number }>(MASTER_KEY))!.value.epoch).toBeGreaterThan(before);
    });
  });
}

const info = (hostname: string) => ({ hostname, port: 5051, resources: {}, attributes: {}, version: '' });

/** One counted update through the registrar's conditional-write loop. */
function bump(r: Registrar, id: string, counter: string) {
  return r.core.changeAgent(id, (current?: AgentRecord) => {
    const attributes = { ...current!.info.attributes, [counter]: String(Number(current!.info.attributes[counter] ?? 0) + 1) };
    return { ...current!, info: { ...current!.info, attributes } };
  });
}
