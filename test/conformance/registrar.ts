// The registrar on top of each adapter: many registrar instances sharing one store, as many
// stateless masters would, must never lose an update, admit an agent twice, or start two epochs.
// The instances race for the same records, and the store counts the conflicts that proves.
import { expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../src/clock.ts';
import type { AgentRecord } from '../../src/registry/index.ts';
import { AGENT_PREFIX, createRegistrar, MASTER_KEY, RefusedError, type Registered, type Registrar } from '../../src/registrar.ts';
import { randomSecret } from '../../src/secrets.ts';
import { ConflictError, type Store } from '../../src/store.ts';
import { defaultPolicy } from '../support/master.ts';
import { describeAdapter, openedStores, type StoreHarness } from './suite.ts';

/** The store, counting the commits it rejected with a conflict. */
function countingConflicts(store: Store): { store: Store; conflicts(): number } {
  let conflicts = 0;
  return {
    store: {
      get: (key) => store.get(key),
      list: (prefix, opts) => store.list(prefix, opts),
      commit: (writes) =>
        store.commit(writes).catch((err: unknown) => {
          if (err instanceof ConflictError) conflicts++;
          throw err;
        }),
      close: () => store.close(),
    },
    conflicts: () => conflicts,
  };
}

export function testRegistrarOn(name: string, harness: StoreHarness): void {
  const slow = harness.slowness ?? 1;
  const { open, closeAfterEach } = openedStores(harness);
  const suite = describeAdapter(`registrar on ${name}`, harness);
  /** n registrars on one store, counting its conflicts and the agents each admission wrote. */
  const registrars = async (n: number, clock = systemClock) => {
    const counted = countingConflicts((await open()).store);
    const admissions: string[] = [];
    const log = (message: string, fields?: Record<string, unknown>) => {
      if (message === 'agent admitted') admissions.push(String(fields?.agentId));
    };
    const instances = Array.from({ length: n }, () =>
      createRegistrar({ store: counted.store, clock, policy: defaultPolicy(), log, retryDeadlineMs: 10_000, maxConflictRetries: 50 }));
    return { store: counted.store, conflicts: counted.conflicts, admissions, instances };
  };
  // Fewer operations on slow backends; the test's name says how many it really runs.
  const opsEach = Math.max(100, Math.round(1000 / slow));
  const RECORDS = 2;

  suite.describe(suite.title, { timeout: 300_000 * slow }, () => {
    closeAfterEach();

    it(`loses no update with 8 registrars × ${opsEach.toLocaleString('en-US')} operations on ${RECORDS} shared records`, async () => {
      const { instances, conflicts } = await registrars(8);
      await instances[0]!.sweep();
      const agents = await Promise.all(Array.from({ length: RECORDS }, (_, i) => instances[0]!.register({ info: info(`host-${i}`), by: 'test' })));
      const ids = agents.map((a) => a.record.id);
      const setup = conflicts();
      // At each step all 8 instances bump the same record: every step is a race.
      const tallies = await Promise.all(
        instances.map(async (r, i) => {
          let ok = 0;
          let unknown = 0;
          for (let n = 0; n < opsEach; n++) {
            try {
              await bump(r, ids[n % RECORDS]!, `i${i}`);
              ok++;
            } catch (err) {
              if ((err as Error).name !== 'StoreUnavailableError') throw err;
              if ((err as { outcome?: string }).outcome === 'unknown') unknown++;
            }
          }
          return { ok, unknown };
        }),
      );
      const raced = conflicts() - setup;
      console.info(`registrar on ${name}: ${raced} conflicts in 8 × ${opsEach} contended updates`);
      const records = await Promise.all(ids.map(async (id) => (await instances[0]!.core.readAgent(id))!.value));
      for (const [i, { ok, unknown }] of tallies.entries()) {
        const counted = records.reduce((sum, r) => sum + Number(r.info.attributes[`i${i}`] ?? 0), 0);
        // Every update reported done is there, and nothing else is, but the ones whose outcome stayed unknown.
        expect(counted, `instance ${i}`).toBeGreaterThanOrEqual(ok);
        expect(counted, `instance ${i}`).toBeLessThanOrEqual(ok + unknown);
        expect(ok, `instance ${i}`).toBeGreaterThan(opsEach * 0.9);
      }
      expect(raced, 'the instances raced: the store rejected some commits with a conflict').toBeGreaterThan(0);
    });

    it('admits an agent exactly once when 8 registrars race its registration, 50 times over', async () => {
      const { instances, conflicts, admissions } = await registrars(8);
      await instances[0]!.sweep();
      const agents = Array.from({ length: 50 }, (_, n) => ({ agentId: crypto.randomUUID(), secret: randomSecret(), info: info(`h${n}`), by: 'test' }));
      // All 8 send each agent's one registration (its retries, as it were) at the same moment.
      const answers: Registered[][] = await Promise.all(agents.map((a) => Promise.all(instances.map((r) => r.register(a)))));
      for (const [n, same] of answers.entries()) {
        const { agentId } = agents[n]!;
        for (const answer of same) {
          expect(answer.record.id, `agent ${n}`).toBe(agentId);
          expect(answer.epoch, `agent ${n}`).toBe(same[0]!.epoch);
          expect(answer.record, `agent ${n}: every instance answers with the one record admitted`).toEqual(same[0]!.record);
        }
        expect(admissions.filter((id) => id === agentId), `agent ${n} admitted once`).toHaveLength(1);
      }
      expect(conflicts(), 'the registrations raced').toBeGreaterThan(0);
      // Live counts: the master status's are the last sweep's, taken before these registrations.
      const live = await instances[1]!.countAgents((await instances[1]!.core.currentMaster()).value);
      expect(live.counts).toEqual({ admitted: 50, unreachable: 0, gone: 0 });
    });

    it('leaves one admitted agent per machine when 8 registrars race registrations naming it, 50 machines over', async () => {
      const { instances, conflicts } = await registrars(8);
      await instances[0]!.sweep();
      // Each round is checked in full; rounds go on (at most five) until the registrations have
      // visibly raced: a store that happened to serialize one round proves nothing about races.
      for (let round = 0; round < 5 && (round === 0 || conflicts() === 0); round++) await raceMachines(instances, round);
      expect(conflicts(), 'the registrations raced').toBeGreaterThan(0);
    });

    async function raceMachines(instances: Registrar[], round: number) {
      const machines = Array.from({ length: 50 }, (_, n) => `machine-${round}-${n}-${crypto.randomUUID()}`);
      // Each machine registers as a new agent through all 8 at once. Whether a later registration
      // replaces the live one or is refused, one admitted agent per machine must remain.
      const results = await Promise.all(machines.map((machineId, n) =>
        Promise.allSettled(instances.map((r) => r.register({ info: { ...info(`m${n}`), machineId }, by: 'test' }))),
      ));
      const admitted = new Map<string, string[]>();
      for await (const { value } of instances[0]!.core.scan<AgentRecord>(AGENT_PREFIX)) {
        if (value.status !== 'admitted') continue;
        if (!value.info.machineId?.startsWith(`machine-${round}-`)) continue;
        admitted.set(value.info.machineId, [...(admitted.get(value.info.machineId) ?? []), value.id]);
      }
      for (const [n, settled] of results.entries()) {
        const machineId = machines[n]!;
        for (const r of settled) if (r.status === 'rejected') expect(r.reason, machineId).toBeInstanceOf(RefusedError);
        const registered = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.record.id] : []));
        expect(registered.length, `${machineId}: some registration went through`).toBeGreaterThan(0);
        expect(admitted.get(machineId), `${machineId}: one admitted agent`).toHaveLength(1);
        expect(registered, `${machineId}: the admitted agent is one that registered`).toContain(admitted.get(machineId)![0]);
      }
      expect(admitted.size).toBe(50);
    }

    it('starts exactly one new epoch when 8 sweepers find the lease lapsed at once', async () => {
      const clock = new FakeClock();
      const { instances, store } = await registrars(8, clock);
      await instances[0]!.sweep();
      await instances[0]!.register({ info: info('a'), by: 'test' });
      const before = (await store.get<{ epoch: number }>(MASTER_KEY))!.value.epoch;
      clock.advance(defaultPolicy().masterLease + defaultPolicy().maxClockSkew + 1);
      const reports = await Promise.all(instances.map((r) => r.sweep().catch((e: Error) => ({ outcome: e.name }))));
      const epochs = reports.filter((r) => 'step' in r && r.step === 'new-epoch');
      expect(epochs).toHaveLength(1);
      // The others lost the race for master, or found the new epoch's sweep just done and skipped (rule 3).
      expect(reports.filter((r) => r.outcome === 'lost' || r.outcome === 'skipped').length + epochs.length).toBe(8);
      expect((await store.get<{ epoch: number }>(MASTER_KEY))!.value.epoch).toBeGreaterThan(before);
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
