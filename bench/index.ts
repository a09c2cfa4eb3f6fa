// `npm run bench`: the registrar's performance against issue 13's goals, measured (never asserted:
// timings are not tested; test/bench/smoke.test.ts only runs it small).
// 1. Heartbeats over real HTTP: the Node server against a bare Hono handler (./http.ts).
// 2. Throughput, memory and cold start of the hot paths in process, on the store, against memory;
//    on LevelDB, many requests in flight with and without group commit (./group-commit.ts).
// 3. Store operations per heartbeat, per sweep and per master status, counted (./operations.ts).
// 4. Cost per 1,000 agents a month from those counts × ./prices.json (./cost.ts).
// 5. The sweep's live heap, a master status and a full count on a large registry (./sweep-memory.ts).
// 6. A failover at full scale: registration beside the raw put, cold start, the re-registration
//    storm, the server's heap per agent (./storm.ts).
// 7. The sharded design for 1,000,000 agents, simulated: each shard's load, steady and in a failover (./shards.ts).
// Then one table, every goal beside its value (./goals.ts), and all of it in bench/results.json.
//
// npm run bench -- [--store leveldb|memory] [--agents N] [--minutes M] [--seconds S]
//   [--connections C] [--warm-up S] [--turns T] [--http 0] [--sweep-agents N] [--storm-agents N] [--shard-agents N] [--out FILE]
// --agents sets the fleet of parts 1–3 at once; without it each keeps its own size (or environment
// variable): BENCH_HTTP_AGENTS 2,000, BENCH_AGENTS 2,000, BENCH_OPS_AGENTS 1,000. Likewise
// BENCH_STORE, BENCH_OPS_MINUTES (8), BENCH_HTTP_SECONDS (10), BENCH_HTTP_CONNECTIONS (64),
// BENCH_HTTP_WARM_UP (2), BENCH_HTTP_TURNS (2), BENCH_HTTP=0, BENCH_SWEEP_AGENTS (100,000), BENCH_STORM_AGENTS (100,000),
// BENCH_SHARD_AGENTS (1,000,000), BENCH_OUT.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createLevelDbStore } from '../adapters/leveldb/index.ts';
import { createMemoryStore } from '../adapters/memory/index.ts';
import { agentKey } from '../src/registrar.ts';
import type { Store } from '../src/store.ts';
import { breakdown, COST_HEAD, costRows, costs, prices, SPREAD_INSTANCES, shardedCost } from './cost.ts';
import { GOAL_HEAD, goalRows, goals, type InProcess } from './goals.ts';
import { groupCommitTable, measureGroupCommit } from './group-commit.ts';
import { HTTP_HEAD, type HttpResult, httpRows, measureHttp } from './http.ts';
import { measureOperations, OPERATIONS_HEAD, operationRows } from './operations.ts';
import { type BenchAgent, benchMaster, call, fmt, formatTable, gc, JOIN, type ProgressBar, progressBar, rawPutsPerSecond } from './support.ts';
import { DESIGN_SHARDS, SHARD_HEAD, shardRows, simulateShards } from './shards.ts';
import { measureStorm, STORM_IN_FLIGHT } from './storm.ts';
import type { SweepHeap } from './sweep-memory.ts';

const USAGE = 'npm run bench -- [--store leveldb|memory] [--agents N] [--minutes M] [--seconds S] [--connections C] [--warm-up S] [--turns T] [--http 0] [--sweep-agents N] [--storm-agents N] [--shard-agents N] [--out FILE]';
const fail = (why: string): never => {
  process.stderr.write(`bench: ${why}\nusage: ${USAGE}\n`);
  process.exit(2);
};

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        store: { type: 'string' },
        agents: { type: 'string' },
        minutes: { type: 'string' },
        seconds: { type: 'string' },
        connections: { type: 'string' },
        'warm-up': { type: 'string' },
        turns: { type: 'string' },
        http: { type: 'string' },
        'sweep-agents': { type: 'string' },
        'storm-agents': { type: 'string' },
        'shard-agents': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return fail((err as Error).message);
  }
})();
if (values.help) {
  console.log(`usage: ${USAGE}`);
  process.exit(0);
}

/** A flag, else an environment variable, else the default; a positive number (or 0 where `zero`). */
function setting(flag: string | undefined, name: string, fallback: number, opts: { integer?: boolean; zero?: boolean } = {}): number {
  const text = flag ?? process.env[name];
  if (text === undefined) return fallback;
  const n = Number(text);
  const ok = Number.isFinite(n) && (opts.zero ? n >= 0 : n > 0) && (!opts.integer || Number.isInteger(n));
  return ok ? n : fail(`${name} / its flag: "${text}" is not a ${opts.integer ? 'whole' : ''} number${opts.zero ? '' : ' above 0'}`);
}

const store = values.store ?? process.env.BENCH_STORE ?? 'leveldb';
if (store !== 'memory' && store !== 'leveldb') fail(`--store ${store}: memory or leveldb`);
const settings = {
  store: store as 'memory' | 'leveldb',
  http: (values.http ?? process.env.BENCH_HTTP) !== '0',
  httpAgents: setting(values.agents, 'BENCH_HTTP_AGENTS', 2_000, { integer: true }),
  httpSeconds: setting(values.seconds, 'BENCH_HTTP_SECONDS', 10, { integer: true }),
  httpConnections: setting(values.connections, 'BENCH_HTTP_CONNECTIONS', 64, { integer: true }),
  httpWarmUpSeconds: setting(values['warm-up'], 'BENCH_HTTP_WARM_UP', 2, { integer: true, zero: true }),
  httpTurns: setting(values.turns, 'BENCH_HTTP_TURNS', 2, { integer: true }),
  agents: setting(values.agents, 'BENCH_AGENTS', 2_000, { integer: true }),
  opsAgents: setting(values.agents, 'BENCH_OPS_AGENTS', 1_000, { integer: true }),
  opsMinutes: setting(values.minutes, 'BENCH_OPS_MINUTES', 8),
  sweepAgents: setting(values['sweep-agents'], 'BENCH_SWEEP_AGENTS', 100_000, { integer: true }),
  stormAgents: setting(values['storm-agents'], 'BENCH_STORM_AGENTS', 100_000, { integer: true }),
  shardAgents: setting(values['shard-agents'], 'BENCH_SHARD_AGENTS', 1_000_000, { integer: true }),
  out: values.out ?? process.env.BENCH_OUT ?? new URL('./results.json', import.meta.url).pathname,
};


const started = performance.now();
const STAGES = settings.http ? 6 : 5;
let stageNo = 0;
const stage = (what: string) => progressBar(`${++stageNo}/${STAGES} ${what}`);

/** The hot paths in process, one request at a time, on one store. */
async function measureInProcess(kind: 'memory' | 'leveldb', agents: number, bar: ProgressBar, share: [number, number]): Promise<InProcess> {
  const dir = kind === 'leveldb' ? await mkdtemp(join(os.tmpdir(), 'registrar-bench-')) : undefined;
  const location = dir ? join(dir, 'data') : '';
  let store: Store = dir ? await createLevelDbStore({ location }) : createMemoryStore();
  try {
    const { clock, policy, registrar, request } = benchMaster(store);
    const steps = agents * 5;
    let done = 0;
    const tick = () => bar.update(share[0] + (share[1] * ++done) / steps);
    const heartbeat = async (a: BenchAgent) => {
      const res = await call(request, `/api/v1/agents/${a.agentId}/heartbeat`, a.secret, { epoch: a.epoch, ...(a.ticket ? { ticket: a.ticket } : {}) });
      if (res.status !== 200) throw new Error(`heartbeat answered ${res.status}: ${await res.text()}`);
      a.ticket = ((await res.json()) as { ticket?: string }).ticket;
    };
    const perSecond = (n: number, since: number) => (n / (performance.now() - since)) * 1000;
    await registrar.sweep();
    await gc();
    const heapBefore = process.memoryUsage().heapUsed;

    let t = performance.now();
    const fleet: BenchAgent[] = [];
    for (let i = 0; i < agents; i++) {
      fleet.push((await (await call(request, '/api/v1/agents', JOIN, { hostname: `host-${i}.bench.example.com`, resources: { cpus: 16, mem: 65536 } })).json()) as BenchAgent);
      tick();
    }
    const registrationsPerSecond = perSecond(agents, t);

    const round = async () => {
      const t = performance.now();
      for (const a of fleet) {
        await heartbeat(a);
        tick();
      }
      return perSecond(agents, t);
    };
    const heartbeatsFirstPerSecond = await round();
    const heartbeatsTicketPerSecond = await round();
    clock.advance(policy.livenessGranularity);
    const heartbeatsWritePerSecond = await round();
    await gc();
    const heapAfter = process.memoryUsage().heapUsed;
    // The bench's own list of agents (ids, secrets, tickets: an agent's side, not the server's) is
    // weighed by dropping it, so the goal counts what the server keeps.
    const kept = [fleet[0]!];
    fleet.length = 0;
    await gc();
    const listBytesPerAgent = Math.max(0, heapAfter - process.memoryUsage().heapUsed) / agents;
    fleet.push(...kept);
    const heapBytesPerAgent = Math.max(0, heapAfter - heapBefore) / agents - listBytesPerAgent;

    // The store's own conditional put of the same record, beside registration (under another prefix).
    const record = (await store.get(agentKey(fleet[0]!.agentId)))!.value;
    const rawPuts = await rawPutsPerSecond(store, record, agents, { each: tick });

    // The rounds ran a granularity without sweeps, so the lease has lapsed: the sweep that starts the
    // new epoch reads no agent, and the one after it scans them all. That one is timed.
    await registrar.sweep();
    clock.advance(policy.sweepInterval);
    t = performance.now();
    const swept = await registrar.sweep();
    const sweepMs = performance.now() - t;
    if (!swept.scanned) throw new Error(`the timed sweep did not scan (${swept.outcome}, ${swept.step})`);
    t = performance.now();
    const { master, counts } = await registrar.masterStatus();
    const statusMs = performance.now() - t;
    if (counts.admitted !== agents) throw new Error(`expected ${agents} admitted, saw ${counts.admitted}`);
    await gc();
    const before = process.memoryUsage().heapUsed;
    t = performance.now();
    await registrar.countAgents(master);
    const countMs = performance.now() - t;
    const countHeapMiB = Math.max(0, process.memoryUsage().heapUsed - before) / 1024 / 1024;

    let coldStartMs: number | undefined;
    if (dir) {
      await store.close();
      t = performance.now();
      store = await createLevelDbStore({ location });
      const again = benchMaster(store, clock);
      await again.registrar.sweep();
      // A new master's first sweep starts an epoch: the agent is answered, with 409 re-register.
      const a = fleet[0]!;
      const res = await call(again.request, `/api/v1/agents/${a.agentId}/heartbeat`, a.secret, { epoch: a.epoch, ...(a.ticket ? { ticket: a.ticket } : {}) });
      if (res.status !== 200 && res.status !== 409) throw new Error(`heartbeat after a cold start answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      coldStartMs = performance.now() - t;
    }
    return { store: kind, agents, registrationsPerSecond, rawPutsPerSecond: rawPuts, heartbeatsFirstPerSecond, heartbeatsTicketPerSecond, heartbeatsWritePerSecond, sweepMs, statusMs, countMs, countHeapMiB, heapBytesPerAgent, listBytesPerAgent, ...(coldStartMs === undefined ? {} : { coldStartMs }) };
  } finally {
    await store.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** ./sweep-memory.ts in a child with --expose-gc, its progress lines fed to the bar. */
function measureSweepHeap(agents: number, bar: ProgressBar): Promise<SweepHeap> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', new URL('./sweep-memory.ts', import.meta.url).pathname, String(agents), '--progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const other: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.startsWith('progress ')) bar.update(Number(line.slice(9)));
      else other.push(line);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as SweepHeap) : reject(new Error(`sweep-memory.ts exited ${code}: ${other.join('\n')}`))));
  });
}

const print = (...lines: string[]) => console.log(lines.join('\n'));
print(`registrar bench: Node ${process.version}, ${os.cpus().length} cpus, store ${settings.store}\n`);

// 1. First, while the process is fresh: the servers run in it, the load generator in a child.
let http: HttpResult | undefined;
if (settings.http) {
  const bar = stage(`HTTP heartbeats: ${settings.httpAgents} agents, ${settings.httpConnections} connections, ${settings.httpSeconds} s each`);
  http = await measureHttp({ store: settings.store, agents: settings.httpAgents, seconds: settings.httpSeconds, connections: settings.httpConnections, warmUpSeconds: settings.httpWarmUpSeconds, turns: settings.httpTurns, progress: (d) => bar.update(d) });
  bar.done();
  print(
    `HTTP heartbeats: the Node server (${http.store}, sweeper running) against a bare Hono handler answering the same JSON;`,
    `${http.agents} agents sending back their tickets, ${http.connections} connections, ${http.seconds} s a turn, autocannon in a child process;`,
    `${http.turns.length / 2} turns each, alternating: each side's best turn is compared\n`,
    formatTable(HTTP_HEAD, httpRows(http)),
    '',
  );
}

// 2.
const inProcessBar = stage(`in process: ${settings.agents} agents on ${settings.store === 'memory' ? 'memory' : 'memory and leveldb'}`);
// A small round first, not counted, so that the JIT's warm-up is in neither column.
await measureInProcess('memory', Math.min(200, settings.agents), { update() {}, done() {} }, [0, 0]);
const memory = await measureInProcess('memory', settings.agents, inProcessBar, settings.store === 'memory' ? [0, 1] : [0, 0.4]);
const inProcess = settings.store === 'memory' ? memory : await measureInProcess(settings.store, settings.agents, inProcessBar, [0.4, 0.3]);
const GROUP_IN_FLIGHT = 32;
const groupCommit = settings.store === 'leveldb' ? await measureGroupCommit(settings.agents, GROUP_IN_FLIGHT, (d) => inProcessBar.update(0.7 + 0.3 * d)) : undefined;
inProcessBar.done();
const IN_PROCESS_ROWS: [keyof InProcess, string, string][] = [
  ['registrationsPerSecond', 'registrations', 'per s'],
  ['rawPutsPerSecond', "the store's conditional put", 'per s'],
  ['heartbeatsFirstPerSecond', 'heartbeats (first, no ticket yet)', 'per s'],
  ['heartbeatsTicketPerSecond', 'heartbeats (ticket, no write due)', 'per s'],
  ['heartbeatsWritePerSecond', 'heartbeats (ticket, lastSeenAt write due)', 'per s'],
  ['sweepMs', `sweep of ${settings.agents} agents`, 'ms'],
  ['statusMs', 'master status (counts kept in master: one read)', 'ms'],
  ['countMs', 'registrar.countAgents (full scan)', 'ms'],
  ['countHeapMiB', 'heap growth during the full scan', 'MiB'],
  ['heapBytesPerAgent', "server's live heap per agent", 'bytes'],
  ['listBytesPerAgent', "the bench's list of agents, per agent (not counted)", 'bytes'],
  ['coldStartMs', 'cold start (open, first sweep, a heartbeat answered)', 'ms'],
];
const value = (r: InProcess, k: keyof InProcess) => (typeof r[k] === 'number' ? (r[k] as number) : undefined);
print(
  `In process, one request at a time: ${settings.agents} agents\n`,
  settings.store === 'memory'
    ? formatTable(['in process', 'memory', 'unit'], IN_PROCESS_ROWS.filter(([k]) => value(memory, k) !== undefined).map(([k, label, unit]) => [label, value(memory, k)!, unit]))
    : formatTable(['in process', 'memory', settings.store, 'ratio', 'unit'], IN_PROCESS_ROWS.map(([k, label, unit]) => {
        const base = value(memory, k);
        const other = value(inProcess, k);
        return [label, base ?? '–', other ?? '–', base !== undefined && other !== undefined ? other / base : '', unit];
      })),
  '',
);

if (groupCommit) {
  print(
    `LevelDB with ${groupCommit.inFlight} requests in flight, ${groupCommit.agents} agents: each commit in its own synced batch, against group commit`,
    '(the commits that arrive while a batch is in flight share the next one), in process:\n',
    groupCommitTable(groupCommit),
    '',
  );
}

// 3.
const opsBar = stage(`store operations: ${settings.opsAgents} agents, ${settings.opsMinutes} simulated minutes`);
const ops = await measureOperations(settings.opsAgents, settings.opsMinutes, (d) => opsBar.update(d / 2));
const spread = await measureOperations(settings.opsAgents, settings.opsMinutes, (d) => opsBar.update(0.5 + d / 2), SPREAD_INSTANCES);
opsBar.done();
print(
  `Store operations at default settings, counted by an instrumented memory store: ${ops.agents} agents for ${ops.minutes} simulated minutes`,
  `after a warm-up; ${ops.heartbeats} heartbeats (every ${ops.heartbeatIntervalMs / 1000} s × 0.98–1.0, tickets sent back), ${ops.sweeps} sweeps (every ${ops.sweepIntervalMs / 1000} s), ${ops.masterGets} GET /api/v1/master; ${ops.failed} heartbeats refused, ${ops.marked} agents marked\n`,
  formatTable(OPERATIONS_HEAD, operationRows(ops)),
  `\nThe same on ${SPREAD_INSTANCES} instances, each heartbeat to one at random (no affinity: Lambda, Cloud Run):\n`,
  formatTable(OPERATIONS_HEAD, operationRows(spread)),
  '',
);

// 4.
const all = [...costs({ one: ops, spread }), shardedCost({ one: ops, spread }, settings.shardAgents, DESIGN_SHARDS)];
print(
  `Cost from the counts above × ${prices.kind}, ${prices.date} (bench/prices.json). Floor: one request per agent every 15 s`,
  `(172.8 million per 1,000 agents a month) × the runtime's request price; lease: the floor plus one store write per heartbeat;`,
  `Cloud Map: $0.10 an instance and a $1-per-million API call per heartbeat. Measured heartbeats follow the client's jitter (14.85 s on average).\n`,
  formatTable(COST_HEAD, costRows(all)),
  `\nWhere it goes, per 1,000 agents a month:\n${breakdown(all, 1_000).join('\n')}\n`,
);

// 5.
const sweepBar = stage(`large registry: ${settings.sweepAgents} agents`);
const sweepHeap = await measureSweepHeap(settings.sweepAgents, sweepBar);
sweepBar.done();
print(
  `A registry of ${fmt(sweepHeap.agents)} agents (~1.3 KB each, memory store): a sweep's live heap peak ${sweepHeap.peakMiB.toFixed(1)} MiB (a Durable Object`,
  `has 128 MB), the sweep ${fmt(sweepHeap.sweepMs)} ms with a full collection before every page it reads; master status ${fmt(sweepHeap.statusMs)} ms;`,
  `registrar.countAgents (full scan) ${fmt(sweepHeap.countMs)} ms\n`,
);

// 6.
const stormBar = stage(`failover at scale: ${settings.stormAgents} agents on ${settings.store}`);
const storm = await measureStorm(settings.stormAgents, settings.store, (d) => stormBar.update(d));
stormBar.done();
print(
  `A failover with ${fmt(storm.agents)} agents on ${storm.store}: registered one at a time at ${fmt(storm.registrationsPerSecond)}/s (the store's own`,
  `conditional put: ${fmt(storm.rawPutsPerSecond)}/s); the master down past its lease, then a cold start in ${fmt(storm.coldStartMs)} ms (open, the first sweep`,
  `starting an epoch, a heartbeat answered 409); every agent back in ${fmt(storm.stormSeconds)} s of the ${fmt(storm.windowSeconds)} s window (virtual time: each`,
  `wave of up to ${STORM_IN_FLIGHT} requests in flight takes the real time it took), requests waiting up to ${fmt(storm.maxQueueMs)} ms (p99 ${fmt(storm.p99QueueMs)} ms);`,
  `${storm.falseUnreachable} live agents marked, ${storm.failed} failed answers in ${fmt(storm.requests)} requests; the server's heap ${fmt(storm.heapBytesPerAgent)} bytes an agent.\n`,
);

// 7.
const shardBar = stage(`sharded design: ${settings.shardAgents} agents, simulated`);
const shards = simulateShards(settings.shardAgents, { progress: (d) => shardBar.update(d) });
shardBar.done();
print(
  `The sharded design (docs/scaling.md, not built), simulated: ${fmt(shards.agents)} agents over N Durable Objects for ${shards.steadySeconds} s, then a failover`,
  `(a new epoch: 409s, re-registrations, heartbeats). The edge answered ${(shards.runs[0]!.edgeShare * 100).toFixed(1)}% of steady heartbeats from tickets; each shard`,
  `takes ~${fmt(shards.ceiling)} requests/s and sheds the rest with 429 (retried by the client's backoff). Requests a second offered to one shard:\n`,
  formatTable(SHARD_HEAD, shardRows(shards)),
  '',
);

// The goals, one table.
const measured = goals({ ...(http ? { http } : {}), operations: ops, spread, costs: all, storm, shards });
const seconds = (performance.now() - started) / 1000;
print(`Issue 13's goals (${Math.round(seconds)} s in all):\n`, formatTable(GOAL_HEAD, goalRows(measured), [0, 4]));
if (!http) print('(HTTP skipped: its goals not measured)');

const results = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)), platform: `${os.platform()} ${os.release()}`, arch: os.arch(), node: process.version },
  settings: { ...settings, out: relative(process.cwd(), settings.out) },
  seconds,
  goals: measured,
  http: http ?? null,
  inProcess: { memory, ...(settings.store === 'memory' ? {} : { [settings.store]: inProcess }) },
  groupCommit: groupCommit ?? null,
  operations: ops,
  costs: all,
  largeRegistry: sweepHeap,
  storm,
  shards,
};
await writeFile(settings.out, `${JSON.stringify(results, null, 2)}\n`);
process.stderr.write(`bench: wrote ${settings.out}\n`);
