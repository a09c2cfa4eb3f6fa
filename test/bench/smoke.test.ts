// `npm run bench` at a tiny scale, as a child process the way a user runs it: it must finish and
// write results.json with every goal of issue 13 measured. No timing is asserted (see bench/index.ts).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';

const run = promisify(execFile);
const PLATFORMS = ['lambda-dynamodb', 'workers-durable-objects', 'cloud-run-firestore'];
const GOALS = [
  'http.throughputRatio',
  'http.p99Ratio',
  'http.failed',
  'heartbeat.reads',
  'heartbeat.readsSpread',
  'heartbeat.writes',
  'simulation.refused',
  'simulation.marked',
  'sweep.readsPerAgent',
  ...PLATFORMS.map((p) => `sweep.costShare.${p}`),
  'master.reads',
  ...PLATFORMS.flatMap((p) => [1_000, 10_000, 100_000].map((n) => `cost.${p}.${n}`)),
  'registration.ratio',
  'storm.seconds',
  'storm.falseUnreachable',
  'memory.bytesPerAgent',
  'coldStart.ms',
  'shards.steadyPeak',
  'shards.failoverSeconds',
  'sweep.costShare.workers-durable-objects-32-shards',
  'cost.workers-durable-objects-32-shards.2000',
];

const dir = await mkdtemp(join(tmpdir(), 'registrar-bench-smoke-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

test('the bench runs at a tiny scale and writes every goal beside a measured number', { timeout: 90_000 }, async () => {
  const out = join(dir, 'results.json');
  const args = ['--store', 'leveldb', '--http', '1', '--agents', '20', '--minutes', '1', '--seconds', '1', '--connections', '2', '--warm-up', '0', '--sweep-agents', '200', '--storm-agents', '200', '--shard-agents', '2000', '--out', out];
  const { stdout } = await run(process.execPath, [new URL('../../bench/index.ts', import.meta.url).pathname, ...args]);
  expect(stdout).toContain("Issue 13's goals");

  const results = JSON.parse(await readFile(out, 'utf8'));
  expect(results.machine.cpus).toBeGreaterThan(0);
  expect(results.machine.node).toBe(process.version);
  expect(results.settings).toMatchObject({ store: 'leveldb', agents: 20, opsAgents: 20, httpAgents: 20, opsMinutes: 1, sweepAgents: 200, stormAgents: 200, shardAgents: 2_000, http: true });
  expect(Number.isNaN(Date.parse(results.date))).toBe(false);
  expect(Object.keys(results.goals).sort()).toEqual([...GOALS].sort());
  for (const key of GOALS) {
    const goal = results.goals[key];
    expect(Number.isFinite(goal.measured), `${key}: ${goal.measured}`).toBe(true);
    expect(typeof goal.met, key).toBe('boolean');
    expect(goal.target, key).toBeTruthy();
  }
  // Two turns of each side, alternating; each side's best is what the goals compare.
  expect(results.http.turns.map((t: { side: string }) => t.side)).toEqual(['bare', 'server', 'bare', 'server']);
  const best = (side: string) => Math.max(...results.http.turns.filter((t: { side: string }) => t.side === side).map((t: { result: { requestsPerSecond: number } }) => t.result.requestsPerSecond));
  expect([results.http.server.requestsPerSecond, results.http.bare.requestsPerSecond]).toEqual([best('server'), best('bare')]);
  expect(results.settings.httpTurns).toBe(2);
  // CPU per answer, from this process's usage over each turn: positive, and per request (a loose bound, far above the tens of µs measured).
  for (const t of results.http.turns as { result: { cpuMicros: { user: number; system: number } } }[]) {
    expect(t.result.cpuMicros.user).toBeGreaterThan(0);
    expect(t.result.cpuMicros.user + t.result.cpuMicros.system).toBeLessThan(100_000);
  }
  // LevelDB with many requests in flight, each commit in its own batch and grouped: both measured.
  expect(results.groupCommit).toMatchObject({ agents: 20, inFlight: 32 });
  for (const run of [results.groupCommit.oneBatchEach, results.groupCommit.grouped]) {
    for (const key of ['registrationsPerSecond', 'dueHeartbeatsPerSecond', 'rawPutsPerSecond', 'commitsPerBatch']) expect(run[key], key).toBeGreaterThan(0);
  }
});

test('registration beside the raw put runs on a store and prints a row for each in-flight count', { timeout: 60_000 }, async () => {
  const { stdout } = await run(process.execPath, [new URL('../../bench/stores.ts', import.meta.url).pathname, '--agents', '20', '--only', 'leveldb', '--in-flight', '1,4']);
  const rows = stdout.split('\n').filter((line) => line.startsWith('leveldb'));
  expect(rows.map((line) => line.split(/\s+/)[1])).toEqual(['1', '4']);
  for (const line of rows) expect(line).toMatch(/^leveldb\s+\d+\s+[\d,]+\s+[\d,]+\s+[\d.]+\s+(yes|NO)$/);
});
