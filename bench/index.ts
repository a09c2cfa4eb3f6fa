// `npm run bench`: the registrar's performance, printed (never asserted: timings are not tested).
// 1. Heartbeats over real HTTP: the Node server (LevelDB) against a bare Hono handler (./http.ts).
// 2. Throughput and memory of the hot paths in process, on the embedded stores, against the memory store.
// 3. Store operations per heartbeat, per sweep and per master status, counted (./operations.ts).
// 4. Cost per 1,000 agents a month from those counts × ./prices.json (./cost.ts).
// 5. The sweep's live heap on a large registry (./sweep-memory.ts).
// Sizes: BENCH_HTTP_AGENTS, BENCH_HTTP_SECONDS, BENCH_HTTP_CONNECTIONS (BENCH_HTTP=0 skips it),
// BENCH_AGENTS, BENCH_OPS_AGENTS, BENCH_OPS_MINUTES, BENCH_SWEEP_AGENTS.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLevelDbStore } from '../adapters/leveldb/index.ts';
import { createMemoryStore } from '../adapters/memory/index.ts';
import type { Store } from '../src/store.ts';
import { breakdown, COST_HEAD, costRows, costs, prices } from './cost.ts';
import { httpRows, measureHttp } from './http.ts';
import { measureOperations, operationRows } from './operations.ts';
import { type BenchAgent, benchMaster, call, formatTable, JOIN } from './support.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const AGENTS = env('BENCH_AGENTS', 2_000);
const stage = (what: string) => process.stderr.write(`bench: ${what}…\n`);

interface Row {
  store: string;
  metric: string;
  value: number;
  unit: string;
}

async function measure(name: string, store: Store): Promise<Row[]> {
  const { clock, policy, registrar, request } = benchMaster(store);
  const heartbeat = (a: BenchAgent) => call(request, `/api/v1/agents/${a.agentId}/heartbeat`, a.secret, { epoch: a.epoch });
  await registrar.sweep();
  const rows: Row[] = [];
  const rate = (metric: string, n: number, ms: number) => rows.push({ store: name, metric, value: (n / ms) * 1000, unit: 'per s' });

  let t = performance.now();
  const agents: BenchAgent[] = [];
  for (let i = 0; i < AGENTS; i++) agents.push((await (await call(request, '/api/v1/agents', JOIN, { hostname: `h${i}`, resources: { cpus: 8 } })).json()) as never);
  rate('registrations', AGENTS, performance.now() - t);

  // Heartbeats inside one granularity: a read each, no write.
  t = performance.now();
  for (const a of agents) await heartbeat(a);
  rate('heartbeats (no write due)', AGENTS, performance.now() - t);

  clock.advance(policy.livenessGranularity);
  t = performance.now();
  for (const a of agents) await heartbeat(a);
  rate('heartbeats (lastSeenAt write)', AGENTS, performance.now() - t);

  t = performance.now();
  await registrar.sweep();
  rows.push({ store: name, metric: `sweep of ${AGENTS} agents`, value: performance.now() - t, unit: 'ms' });

  const before = process.memoryUsage().heapUsed;
  t = performance.now();
  const status = await registrar.masterStatus();
  rows.push({ store: name, metric: 'master status (full scan)', value: performance.now() - t, unit: 'ms' });
  rows.push({ store: name, metric: 'heap growth during scan', value: Math.max(0, process.memoryUsage().heapUsed - before) / 1024 / 1024, unit: 'MiB' });
  if (status.counts.admitted !== AGENTS) throw new Error(`expected ${AGENTS} admitted, saw ${status.counts.admitted}`);
  await store.close();
  return rows;
}

console.log(`registrar bench: Node ${process.version}\n`);

// 1. First, while the process is fresh: the servers run in it, the load generator in a child.
if (process.env.BENCH_HTTP !== '0') {
  const opts = { agents: env('BENCH_HTTP_AGENTS', 2_000), seconds: env('BENCH_HTTP_SECONDS', 10), connections: env('BENCH_HTTP_CONNECTIONS', 64) };
  stage(`HTTP heartbeats: ${opts.agents} agents, ${opts.connections} connections, ${opts.seconds} s against each server`);
  const http = await measureHttp(opts);
  console.log(`HTTP heartbeats: the Node server (LevelDB, sweeper running) against a bare Hono handler answering the same JSON;`);
  console.log(`${http.agents} agents, ${http.connections} connections, ${http.seconds} s each, autocannon in a child process\n`);
  console.log(formatTable(['HTTP heartbeats', 'server', 'bare Hono', 'ratio', 'goal', 'met'], httpRows(http)));
  console.log();
}

// 2.
stage(`in-process hot paths: ${AGENTS} agents on memory and LevelDB`);
const dir = await mkdtemp(join(tmpdir(), 'registrar-bench-'));
const baseline = await measure('memory', createMemoryStore());
const leveldb = await measure('leveldb', await createLevelDbStore({ location: join(dir, 'data') }));
await rm(dir, { recursive: true, force: true });
console.log(`In process, one request at a time: ${AGENTS} agents\n`);
console.log(formatTable(['in process', 'memory', 'leveldb', 'ratio', 'unit'], baseline.map((base, i) => {
  const other = leveldb[i]!;
  return [base.metric, base.value.toFixed(1), other.value.toFixed(1), (other.value / base.value).toFixed(2), base.unit];
})));

// 3.
const opsAgents = env('BENCH_OPS_AGENTS', 1_000);
const opsMinutes = env('BENCH_OPS_MINUTES', 8);
stage(`store operations: ${opsAgents} agents, ${opsMinutes} simulated minutes`);
const ops = await measureOperations(opsAgents, opsMinutes, (done) => process.stderr.write(`\r  ${Math.round(done * 100)}%`));
process.stderr.write('\n');
console.log(`\nStore operations at default settings, counted by an instrumented memory store: ${ops.agents} agents for ${ops.minutes} simulated minutes`);
console.log(`after a warm-up; ${ops.heartbeats} heartbeats (every ${ops.heartbeatIntervalMs / 1000} s × 0.8–1.0), ${ops.sweeps} sweeps (every ${ops.sweepIntervalMs / 1000} s), ${ops.masterGets} GET /api/v1/master; ${ops.failed} heartbeats refused, ${ops.marked} agents marked\n`);
console.log(formatTable(['store operations', 'measured', 'goal', 'met'], operationRows(ops)));

// 4.
const all = costs(ops);
console.log(`\nCost from the counts above × ${prices.kind}, ${prices.date} (bench/prices.json). Floor: one request per agent every 15 s`);
console.log(`(172.8 million per 1,000 agents a month) × the runtime's request price; lease: the floor plus one store write per heartbeat;`);
console.log(`Cloud Map: $0.10 an instance and a $1-per-million API call per heartbeat. Measured heartbeats follow the client's jitter (13.5 s on average).\n`);
console.log(formatTable(COST_HEAD, costRows(all)));
console.log(`\nWhere it goes, per 1,000 agents a month:\n${breakdown(all, 1_000).join('\n')}`);

// 5. The sweep's live heap on a large registry, in a child with --expose-gc (./sweep-memory.ts).
const SWEEP_AGENTS = env('BENCH_SWEEP_AGENTS', 100_000);
stage(`sweep heap: ${SWEEP_AGENTS} agents`);
const sweep = JSON.parse(execFileSync(process.execPath, ['--expose-gc', new URL('./sweep-memory.ts', import.meta.url).pathname, String(SWEEP_AGENTS)], { encoding: 'utf8' })) as { peakMiB: number };
console.log(`\nsweep of ${SWEEP_AGENTS} agents (~1.3 KB each): live heap peak ${sweep.peakMiB} MiB (a Durable Object has 128 MB)`);
