// Heartbeats over real HTTP: the Node server as `npm start` runs it (startNodeMaster, LevelDB in a
// temporary folder, its sweeper running) with registered agents, against a bare Hono handler that
// answers the same JSON on another port, both driven in turn by autocannon in a child process
// (./load.ts), so the load generator never shares the servers' event loop.
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

export interface HttpResult {
  agents: number;
  seconds: number;
  connections: number;
  server: LoadResult;
  bare: LoadResult;
}

const run = promisify(execFile);

async function load(url: string, agentsFile: string, seconds: number, connections: number): Promise<LoadResult> {
  const { stdout } = await run(process.execPath, [new URL('./load.ts', import.meta.url).pathname, url, agentsFile, String(seconds), String(connections)]);
  return JSON.parse(stdout) as LoadResult;
}

/** Registers `agents` over HTTP, a few at a time. */
async function register(url: string, agents: number): Promise<BenchAgent[]> {
  const fleet: BenchAgent[] = [];
  let started = 0;
  const worker = async () => {
    while (started < agents) {
      const i = started++;
      const res = await call(fetch, `${url}/api/v1/agents`, JOIN, { hostname: `host-${i}.bench.example.com`, resources: { cpus: 16, mem: 65536 } });
      if (!res.ok) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
      fleet.push((await res.json()) as BenchAgent);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return fleet;
}

export async function measureHttp(opts: { agents: number; seconds: number; connections: number; warmUpSeconds?: number }): Promise<HttpResult> {
  const dir = await mkdtemp(join(tmpdir(), 'registrar-bench-http-'));
  const config = loadConfig({
    PORT: '0',
    REGISTRAR_HOST: '127.0.0.1',
    REGISTRAR_STORE: `leveldb:${join(dir, 'data')}`,
    REGISTRAR_JOIN_TOKEN: JOIN,
    REGISTRAR_OPERATOR_TOKEN: OPERATOR,
    // Setting up the fleet only: heartbeats are what is measured.
    REGISTRAR_REGISTRATION_RATE_LIMIT: `${opts.agents * 10}/1s`,
  });
  const master = await startNodeMaster(config, () => {});
  let bare: ReturnType<typeof serve> | undefined;
  try {
    const agents = await register(master.url, opts.agents);
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
    await load(bareUrl, agentsFile, warmUp, opts.connections);
    const bareResult = await load(bareUrl, agentsFile, opts.seconds, opts.connections);
    await load(master.url, agentsFile, warmUp, opts.connections);
    const serverResult = await load(master.url, agentsFile, opts.seconds, opts.connections);
    return { agents: opts.agents, seconds: opts.seconds, connections: opts.connections, server: serverResult, bare: bareResult };
  } finally {
    bare?.close();
    await master.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Throughput and latency beside their goals, as table rows: metric, server, bare Hono, ratio, goal, met. */
export function httpRows(r: HttpResult): (string | number)[][] {
  const met = (ok: boolean) => (ok ? 'yes' : 'NO');
  const throughput = r.server.requestsPerSecond / r.bare.requestsPerSecond;
  const p99 = r.server.p99 / r.bare.p99;
  return [
    ['heartbeats/s', r.server.requestsPerSecond, r.bare.requestsPerSecond, throughput, '≥ 0.8×', met(throughput >= 0.8)],
    ['p50 latency (ms)', r.server.p50, r.bare.p50, r.server.p50 / r.bare.p50, '', ''],
    ['p99 latency (ms)', r.server.p99, r.bare.p99, p99, '≤ 2×', met(p99 <= 2)],
    ['non-2xx / errors', `${r.server.non2xx} / ${r.server.errors}`, `${r.bare.non2xx} / ${r.bare.errors}`, '', '0', met(r.server.non2xx + r.server.errors === 0)],
  ];
}

if (import.meta.main) {
  const { formatTable } = await import('./support.ts');
  const r = await measureHttp({ agents: Number(process.env.BENCH_HTTP_AGENTS ?? 2_000), seconds: Number(process.env.BENCH_HTTP_SECONDS ?? 10), connections: Number(process.env.BENCH_HTTP_CONNECTIONS ?? 64) });
  console.log(formatTable(['HTTP heartbeats', 'server', 'bare Hono', 'ratio', 'goal', 'met'], httpRows(r)));
}
