// A quick seeded chaos run in `npm test`, on the memory store and on LevelDB: eight stateless masters,
// hundreds of agents and some frameworks over HTTP, an operator, injected store faults, crashes, failovers, partitions
// and slow scans; then every promise checked against the history. `npm run chaos` runs long ones.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLevelDbStore } from '../../adapters/leveldb/index.ts';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { loadConfig, parseDuration } from '../../src/config.ts';
import { defaultPolicy } from '../support/master.ts';
import { checkHistory } from './checker.ts';
import { runChaos } from './harness.ts';

const faults = { latency: 0.05, maxLatencyMs: 3_000, unavailable: 0.02, appliedThenLost: 0.01, conflict: 0.01 };

describe('chaos: many stateless masters, faults, a history checker', () => {
  // LevelDB syncs every commit to disk: fewer agents and a shorter window keep it well under a minute.
  // Lambda's timings too: a lease (150 s) longer than the agent timeout, so a restart shorter than the
  // lease leaves agents silent long enough that only the liveness floor protects them.
  // The last run is a calm one: few agents, so scans are spaced by their deadlines and the frameworks'
  // deadlines must space them too (a framework judged a granularity late fails it).
  it.each([
    ['memory', 101, 30_000, 300, 12, '10m', 'node', 0.4],
    ['leveldb', 102, 12_000, 150, 12, '2m', 'node', 0.4],
    ['memory', 113, 20_000, 200, 12, '10m', 'lambda', 0.1],
    ['memory', 106, 8_000, 30, 40, '10m', 'node', 0.1],
  ] as const)('%s (seed %i): %i requests of %i agents and %i frameworks through 8 masters break no promise (window %s, %s timings)', async (kind, seed, ops, agents, frameworks, window, runtime, failoversPerMinute) => {
    const dir = kind === 'leveldb' ? await mkdtemp(join(tmpdir(), 'registrar-chaos-')) : undefined;
    const store = dir ? await createLevelDbStore({ location: dir }) : createMemoryStore();
    try {
      const timings = runtime === 'lambda' ? loadConfig({ REGISTRAR_STORE: 'dynamodb:registry' }, 'lambda').policy : defaultPolicy();
      const policy = { ...timings, reregisterTimeout: parseDuration('window', window) };
      const run = await runChaos({ seed, policy, ops, agents, instances: 8, store, faults, failoversPerMinute, frameworks, frameworkDeathsPerMinute: frameworks > agents ? 3 : 0.3 });
      const violations = await checkHistory(run);
      expect(violations, violations.join('\n\n')).toEqual([]);
      // The run exercised what it claims to.
      expect(run.stats.requests).toBeGreaterThanOrEqual(ops);
      expect(run.faults.unavailable).toBeGreaterThan(ops / 1_000);
      expect(run.faults.appliedThenLost).toBeGreaterThan(ops / 3_000);
      expect(run.faults.conflict).toBeGreaterThan(ops / 3_000);
      expect(run.stats.crashes).toBeGreaterThan(1);
      // Agents send their tickets back (rule 13), so answers from tickets and due writes on cached records are in the history.
      expect(run.exchanges.filter((x) => x.ticket && x.status === 200).length).toBeGreaterThan(ops / 20);
      // ... and due writes from masters that did not hold the record patch it on the ticket's version.
      expect(run.stats.patches).toBeGreaterThan(ops / 200);
      expect(run.stats.deaths).toBeGreaterThan(ops / 3_000);
      expect(run.marks.length).toBeGreaterThan(0);
      expect(run.sweeps.some((s) => s.report?.step === 'new-epoch')).toBe(true);
      // Schedulers lived, died, came back and were judged too. Only the memory store's runs replay
      // exactly (LevelDB's I/O interleaves differently each time), so only they promise both verdicts.
      expect(run.frameworkDeaths.length).toBeGreaterThan(0);
      if (kind === 'memory') {
        expect(run.frameworkMarks.some((m) => m.to === 'disconnected')).toBe(true);
        expect(run.frameworkMarks.some((m) => m.to === 'completed')).toBe(true);
      }
    } finally {
      await store.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
