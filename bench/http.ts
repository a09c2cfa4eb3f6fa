// Heartbeats over real HTTP: the Node server as `npm start` runs it (startNodeMaster, LevelDB in a
// temporary folder or the memory store, its sweeper running) with registered agents that send back
// their last ticket as the agent client does, against a bare Hono handler that
// answers the same JSON on another port, both driven in turn by autocannon in a child process
// (./load.ts), so the load generator never shares the servers' event loop. Each side runs `turns`
// times, alternating, and keeps its best turn: on a shared 2-core machine one slow turn of either
// side moved the ratio between 0.40 and 0.83 from run to run.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { startNodeMaster } from '../src/node.ts';
import type { LoadResult } from './load.ts';
import { type BenchAgent, call, JOIN, OPERATOR } from './support.ts';

/** A turn's load, and the CPU this process (the loaded server's, almost all of it) spent on each answer. */
export interface TurnResult extends LoadResult {
  /** Microseconds of user and system CPU per request answered: the work behind the throughput, which a busy machine also moves. */
  cpuMicros: { user: number; system: number };
}

export interface HttpResult {
  store: 'memory' | 'leveldb';
  agents: number;
  seconds: number;
  connections: number;
  /** Each side's best turn (the most heartbeats a second), as the goals compare them. */
  server: TurnResult;
  bare: TurnResult;
  /** Every turn, in the order run: bare, server, bare, server, … */
  turns: { side: 'server' | 'bare'; result: TurnResult }[];
}

const run = promisify(execFile);

async function load(url: string, agentsFile: string, seconds: number, connections: number): Promise<TurnResult> {
  // Both servers run in this process, one loaded at a time (the other idle but for the server's sweeper):
  // the process's CPU over a turn is what the loaded one spent.
  const before = process.cpuUsage();
  const { stdout } = await run(process.execPath, [new URL('./load.ts', import.meta.url).pathname, url, agentsFile, String(seconds), String(connections)]);
  const cpu = process.cpuUsage(before);
  const result = JSON.parse(stdout) as LoadResult;
  const answered = Math.max(1, result.ok + result.non2xx);
  return { ...result, cpuMicros: { user: cpu.user / answered, system: cpu.system / answered } };
}

/** Registers `agents` over HTTP, a few at a time, each with a first heartbeat for the ticket it sends back from then on. */
async function register(url: string, agents: number, progress: (done: number) => void): Promise<BenchAgent[]> {
  const fleet: BenchAgent[] = [];
  let started = 0;
  const worker = async () => {
    while (started < agents) {
      const i = started++;
      const res = await call(fetch, `${url}/api/v1/agents`, JOIN, { hostname: `host-${i}.bench.example.com`, resources: { cpus: 16, mem: 65536 } });
      if (!res.ok) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
      const agent = (await res.json()) as BenchAgent;
      const first = await call(fetch, `${url}/api/v1/agents/${agent.agentId}/heartbeat`, agent.secret, { epoch: agent.epoch });
      if (first.status !== 200) throw new Error(`heartbeat answered ${first.status}: ${await first.text()}`);
      const { ticket } = (await first.json()) as { ticket?: string };
      fleet.push({ ...agent, ...(ticket ? { ticket } : {}) });
      progress(fleet.length / agents);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return fleet;
}

export interface HttpOptions {
  store?: 'memory' | 'leveldb';
  agents: number;
  seconds: number;
  connections: number;
  /** Load before each side's first turn, not counted (default 2 s; 0 for none). */
  warmUpSeconds?: number;
  /** Measured turns per side, alternating (default 2). */
  turns?: number;
  /** Called with the fraction done: registration the first tenth, the load runs by the clock after it. */
  progress?: (done: number) => void;
}

export async function measureHttp(opts: HttpOptions): Promise<HttpResult> {
  const store = opts.store ?? 'leveldb';
  const progress = opts.progress ?? (() => {});
  const dir = await mkdtemp(join(tmpdir(), 'registrar-bench-http-'));
  const config = loadConfig({
    PORT: '0',
    REGISTRAR_HOST: '127.0.0.1',
    REGISTRAR_STORE: store === 'memory' ? 'memory' : `leveldb:${join(dir, 'data')}`,
    REGISTRAR_JOIN_TOKEN: JOIN,
    REGISTRAR_OPERATOR_TOKEN: OPERATOR,
    REGISTRAR_FRAMEWORK_TOKEN: 'bench-framework-token-0123456789', // required with the memory store
    // Setting up the fleet only: heartbeats are what is measured.
    REGISTRAR_REGISTRATION_RATE_LIMIT: `${opts.agents * 10}/1s`,
  });
  const master = await startNodeMaster(config, () => {});
  let bare: ReturnType<typeof serve> | undefined;
  try {
    const agents = await register(master.url, opts.agents, (done) => progress(done / 10));
    const agentsFile = join(dir, 'agents.json');
    await writeFile(agentsFile, JSON.stringify(agents));

    // The same answer as the server's, from a handler that does nothing else but read the body.
    const sample = await call(fetch, `${master.url}/api/v1/agents/${agents[0]!.agentId}/heartbeat`, agents[0]!.secret, { epoch: agents[0]!.epoch });
    if (sample.status !== 200) throw new Error(`heartbeat answered ${sample.status}`);
    const answer = await sample.json();
    const app = new Hono();
    app.post('/api/v1/agents/:agentId/heartbeat', async (c) => {
      await c.req.json();
      return c.json(answer);
    });
    bare = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => bare!.once('listening', resolve));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

    const warmUp = opts.warmUpSeconds ?? 2;
    const turnsEach = opts.turns ?? 2;
    const loadSeconds = 2 * (warmUp + turnsEach * opts.seconds);
    const loadStarted = performance.now();
    const ticker = setInterval(() => progress(0.1 + (0.9 * (performance.now() - loadStarted)) / 1000 / loadSeconds), 250);
    try {
      const sides = { bare: bareUrl, server: master.url } as const;
      const turns: HttpResult['turns'] = [];
      for (let turn = 0; turn < turnsEach; turn++) {
        for (const side of ['bare', 'server'] as const) {
          if (turn === 0 && warmUp > 0) await load(sides[side], agentsFile, warmUp, opts.connections);
          turns.push({ side, result: await load(sides[side], agentsFile, opts.seconds, opts.connections) });
        }
      }
      const best = (side: 'server' | 'bare') => turns.filter((t) => t.side === side).reduce((a, b) => (b.result.requestsPerSecond > a.result.requestsPerSecond ? b : a)).result;
      return { store, agents: opts.agents, seconds: opts.seconds, connections: opts.connections, server: best('server'), bare: best('bare'), turns };
    } finally {
      clearInterval(ticker);
    }
  } finally {
    bare?.close();
    await master.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const cpuTotal = (t: TurnResult) => t.cpuMicros.user + t.cpuMicros.system;
const cpuOf = (t: TurnResult) => `${t.cpuMicros.user.toFixed(1)} + ${t.cpuMicros.system.toFixed(1)}`;

/** Throughput and latency of both servers, as table rows: metric, server, bare Hono, ratio (the goals are in ./goals.ts). */
export function httpRows(r: HttpResult): (string | number)[][] {
  const ratio = (a: number, b: number) => (b > 0 ? a / b : '');
  return [
    ['heartbeats/s', r.server.requestsPerSecond, r.bare.requestsPerSecond, ratio(r.server.requestsPerSecond, r.bare.requestsPerSecond)],
    ['p50 latency (ms)', r.server.p50, r.bare.p50, ratio(r.server.p50, r.bare.p50)],
    ['p99 latency (ms)', r.server.p99, r.bare.p99, ratio(r.server.p99, r.bare.p99)],
    ['CPU per heartbeat (µs, user + system)', cpuOf(r.server), cpuOf(r.bare), ratio(cpuTotal(r.server), cpuTotal(r.bare))],
    ['non-2xx / errors', `${r.server.non2xx} / ${r.server.errors}`, `${r.bare.non2xx} / ${r.bare.errors}`, ''],
    ...r.turns.map((t, i) => [`turn ${Math.floor(i / 2) + 1}, ${t.side === 'bare' ? 'bare Hono' : 'server'} heartbeats/s`, t.side === 'server' ? t.result.requestsPerSecond : '', t.side === 'bare' ? t.result.requestsPerSecond : '', '']),
  ];
}

export const HTTP_HEAD = ['HTTP heartbeats', 'server', 'bare Hono', 'ratio'];

if (import.meta.main) {
  const { formatTable } = await import('./support.ts');
  const r = await measureHttp({ agents: Number(process.env.BENCH_HTTP_AGENTS ?? 2_000), seconds: Number(process.env.BENCH_HTTP_SECONDS ?? 10), connections: Number(process.env.BENCH_HTTP_CONNECTIONS ?? 64) });
  console.log(formatTable(HTTP_HEAD, httpRows(r)));
}
