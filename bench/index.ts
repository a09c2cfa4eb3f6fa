// `npm run bench`: throughput and memory of the registrar's hot paths on the embedded stores,
// printed as a table with ratios against the in-memory store measured in the same process.
// Numbers, not assertions: timings are never asserted in tests.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLevelDbStore } from '../adapters/leveldb/index.ts';
import { createMemoryStore } from '../adapters/memory/index.ts';
import { FakeClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createMaster } from '../src/master/index.ts';
import { createRegistrar } from '../src/registrar.ts';
import type { Store } from '../src/store.ts';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 2_000);
const JOIN = 'bench-join-token-0123456789';
const OPERATOR = 'bench-operator-token-0123456789';

interface Row {
  store: string;
  metric: string;
  value: number;
  unit: string;
}

async function measure(name: string, store: Store): Promise<Row[]> {
  const clock = new FakeClock();
  const policy = loadConfig({}).policy;
  const registrar = createRegistrar({ store, clock, policy });
  const app = createMaster({ registrar, tokens: { join: [{ label: 'join', token: JOIN }], operator: [{ label: 'op', token: OPERATOR }] } });
  const post = (path: string, token: string, body: unknown) =>
    app.request(path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await registrar.sweep();
  const rows: Row[] = [];
  const rate = (metric: string, n: number, ms: number) => rows.push({ store: name, metric, value: (n / ms) * 1000, unit: 'per s' });

  let t = performance.now();
  const agents: { agentId: string; secret: string; epoch: number }[] = [];
  for (let i = 0; i < AGENTS; i++) agents.push((await (await post('/api/v1/agents', JOIN, { hostname: `h${i}`, resources: { cpus: 8 } })).json()) as never);
  rate('registrations', AGENTS, performance.now() - t);

  // Heartbeats inside one granularity: a read each, no write.
  t = performance.now();
  for (const a of agents) await post(`/api/v1/agents/${a.agentId}/heartbeat`, a.secret, { epoch: a.epoch });
  rate('heartbeats (no write due)', AGENTS, performance.now() - t);

  clock.advance(policy.livenessGranularity);
  t = performance.now();
  for (const a of agents) await post(`/api/v1/agents/${a.agentId}/heartbeat`, a.secret, { epoch: a.epoch });
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

const dir = await mkdtemp(join(tmpdir(), 'registrar-bench-'));
const baseline = await measure('memory', createMemoryStore());
const leveldb = await measure('leveldb', await createLevelDbStore({ location: join(dir, 'data') }));
await rm(dir, { recursive: true, force: true });

console.log(`registrar bench: ${AGENTS} agents, Node ${process.version}\n`);
console.log(['metric'.padEnd(34), 'memory'.padStart(12), 'leveldb'.padStart(12), 'ratio'.padStart(8), '  unit'].join(' '));
for (const [i, base] of baseline.entries()) {
  const other = leveldb[i]!;
  console.log([base.metric.padEnd(34), base.value.toFixed(1).padStart(12), other.value.toFixed(1).padStart(12), (other.value / base.value).toFixed(2).padStart(8), `  ${base.unit}`].join(' '));
}

// The sweep's live heap on a large registry, in a child with --expose-gc (./sweep-memory.ts).
const SWEEP_AGENTS = Number(process.env.BENCH_SWEEP_AGENTS ?? 100_000);
const sweep = JSON.parse(execFileSync(process.execPath, ['--expose-gc', new URL('./sweep-memory.ts', import.meta.url).pathname, String(SWEEP_AGENTS)], { encoding: 'utf8' })) as { peakMiB: number };
console.log(`\nsweep of ${SWEEP_AGENTS} agents (~1.3 KB each): live heap peak ${sweep.peakMiB} MiB (a Durable Object has 128 MB)`);
