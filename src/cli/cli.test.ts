// The `registrar` CLI against a real master over HTTP: the Node server in process (memory store,
// its sweeper running), commands run through `run(argv, env, io)` with their output captured.
import { serve } from '@hono/node-server';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldMaster } from '../../test/support/master-http.ts';
import { loadConfig } from '../config.ts';
import { startNodeMaster, type RunningMaster } from '../node.ts';
import { run } from '../cli.ts';
import type { AgentView, FrameworkView } from '../registrar.ts';

const JOIN = 'cli-join-token-0123456789';
const OPERATOR = 'cli-operator-token-0123456789';
const FRAMEWORK = 'cli-framework-token-0123456789';

/** Runs the CLI and collects what it writes. */
async function cli(argv: string[], env: Record<string, string | undefined>) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, env, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
  return { code, stdout, stderr };
}

let master: RunningMaster;
let env: Record<string, string>;
const agents: { id: string; hostname: string }[] = [];

beforeAll(async () => {
  const config = loadConfig({
    PORT: '0',
    REGISTRAR_HOST: '127.0.0.1',
    REGISTRAR_STORE: 'memory',
    REGISTRAR_JOIN_TOKEN: JOIN,
    REGISTRAR_OPERATOR_TOKEN: OPERATOR,
    REGISTRAR_FRAMEWORK_TOKEN: FRAMEWORK,
  });
  master = await startNodeMaster(config, () => {});
  env = { REGISTRAR_URL: master.url, REGISTRAR_OPERATOR_TOKEN: OPERATOR };
  for (const hostname of ['web-1', 'web-2', 'db-1']) {
    const res = await fetch(`${master.url}/api/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${JOIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hostname, resources: { cpus: 4 } }),
    });
    expect(res.status).toBe(201);
    agents.push({ id: ((await res.json()) as { agentId: string }).agentId, hostname });
  }
});
afterAll(async () => {
  await master?.stop();
});

describe('registrar agents', () => {
  it('lists every agent in an aligned table, one row each, with when it was last seen', async () => {
    const { code, stdout } = await cli(['agents', 'list'], env);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +HOSTNAME +STATUS +EPOCH +LAST SEEN +DRAIN\/DEACTIVATED$/);
    expect(lines).toHaveLength(1 + agents.length);
    for (const a of agents) expect(stdout).toMatch(new RegExp(`${a.id}  +${a.hostname} +admitted +1 +\\d+s ago +-`));
    // Columns line up: every row has its hostname where the header has HOSTNAME.
    const at = lines[0]!.indexOf('HOSTNAME');
    for (const line of lines.slice(1)) expect(line.slice(at)).toMatch(/^(web|db)-\d/);
  });

  it('filters by hostname and prints JSON for scripts', async () => {
    const { code, stdout } = await cli(['agents', 'list', '--hostname', 'web-2', '--json'], env);
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as AgentView[];
    expect(list.map((a) => a.info.hostname)).toEqual(['web-2']);
    expect(list[0]).not.toHaveProperty('secretHash');
  });

  it('gets one agent, in detail or as JSON', async () => {
    const human = await cli(['agents', 'get', agents[0]!.id], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^id: +[0-9a-f-]+$/m);
    expect(human.stdout).toMatch(/^hostname: +web-1$/m);
    expect(human.stdout).toMatch(/^last seen: +.+\(\d+s ago\)$/m);
    expect(human.stdout).toMatch(/^resources: +cpus:4$/m);
    const json = await cli(['agents', 'get', agents[0]!.id, '--json'], env);
    expect((JSON.parse(json.stdout) as AgentView).id).toBe(agents[0]!.id);
  });

  it('drains, deactivates and reactivates an agent, with the reason in its events', async () => {
    const id = agents[1]!.id;
    const drained = await cli(['agents', 'drain', id, '--max-grace-period', '10m', '--mark-gone', '--reason', 'kernel upgrade'], env);
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toMatch(new RegExp(`^agent ${id} \\(web-2\\): admitted, draining \\((9m 5\\ds|10m)( left)?\\), then gone\\n$`));
    const deactivated = await cli(['agents', 'deactivate', id, '--json'], env);
    expect((JSON.parse(deactivated.stdout) as AgentView).deactivated).toBe(true);
    const listed = await cli(['agents', 'list', '--hostname', 'web-2'], env);
    expect(listed.stdout).toMatch(/draining \(.+ left\), then gone, deactivated/);
    const reactivated = await cli(['agents', 'reactivate', id], env);
    expect(reactivated.stdout).toBe(`agent ${id} (web-2): admitted, -\n`);
    const record = JSON.parse((await cli(['agents', 'get', id, '--json'], env)).stdout) as AgentView;
    expect(record.events.map((e) => e.type)).toEqual(expect.arrayContaining(['drain', 'deactivate', 'reactivate']));
    expect(record.events.find((e) => e.type === 'drain')?.reason).toBe('kernel upgrade');
  });

  it('marks an agent gone, after which --status gone lists it', async () => {
    const id = agents[2]!.id;
    const gone = await cli(['agents', 'mark-gone', id, '--reason', 'decommissioned'], env);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toBe(`agent ${id} (db-1): gone, -\n`);
    const list = JSON.parse((await cli(['agents', 'list', '--status', 'gone', '--json'], env)).stdout) as AgentView[];
    expect(list.map((a) => a.id)).toEqual([id]);
  });

  it('exits 1 with the HTTP status and the API message on an API error', async () => {
    const unknown = await cli(['agents', 'get', '00000000-0000-4000-8000-000000000000'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^registrar: GET \/api\/v1\/agents\/0{8}-0000-4000-8000-0{12}: 404 Not Found — not_found: .+\n$/);
    const badToken = await cli(['agents', 'list', '--operator-token', 'wrong-token-0123456789'], env);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/401 Unauthorized — unauthorized: /);
  });

  it('exits 1 when the master cannot be reached', async () => {
    const { code, stderr } = await cli(['master', 'status', '--url', 'http://127.0.0.1:9'], env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^registrar: cannot reach the master at http:\/\/127\.0\.0\.1:9: /);
  });

  it('exits 2 on a usage mistake: no operator token, an unknown flag, a missing id, a bad status or duration', async () => {
    const noToken = await cli(['agents', 'list'], { REGISTRAR_URL: master.url });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/an operator token is required: --operator-token T or REGISTRAR_OPERATOR_TOKEN/);
    for (const argv of [['agents', 'list', '--colour'], ['agents', 'get'], ['agents', 'list', '--status', 'asleep'], ['agents', 'drain', 'x', '--max-grace-period', 'soon'], ['agents'], ['bogus'], []]) {
      const r = await cli(argv, env);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(/^registrar: /);
    }
  });
});

describe('registrar master status, registry export', () => {
  it('shows the epoch, the lease, recovery and the counts, or the JSON', async () => {
    const human = await cli(['master', 'status'], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^epoch: +1$/m);
    expect(human.stdout).toMatch(/^lease: +expires in \d+s$/m);
    expect(human.stdout).toMatch(/^recovery: +done$/m);
    expect(human.stdout).toMatch(/^agents: +\d+ admitted, \d+ unreachable, \d+ gone \(counted .+\)$/m);
    const json = JSON.parse((await cli(['master', 'status', '--json'], env)).stdout) as { epoch: number; counts: Record<string, number>; leaseLapsed: boolean };
    expect(json.epoch).toBe(1);
    expect(json.leaseLapsed).toBe(false);
    expect(json.counts).toHaveProperty('admitted');
  });

  it('streams the registry as NDJSON to stdout and says the count on stderr', async () => {
    const { code, stdout, stderr } = await cli(['registry', 'export'], env);
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toEqual({ end: true, count: lines.length - 1 });
    expect(JSON.stringify(lines)).toContain(agents[0]!.id);
    expect(stderr).toBe(`exported ${lines.length - 1} records\n`);
  });

  it('runs as the package bin in its own process', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['src/cli.ts', 'master', 'status', '--json'], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect((JSON.parse(out) as { epoch: number }).epoch).toBe(1);
  });
});

describe('registrar frameworks', () => {
  const frameworks: { id: string; name: string }[] = [];

  beforeAll(async () => {
    for (const [name, user, failoverTimeoutSeconds] of [['marathon', 'root', 604_800], ['spark', undefined, 0], ['chronos', 'batch', 90]] as const) {
      const res = await fetch(`${master.url}/api/v1/frameworks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${FRAMEWORK}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, ...(user ? { user } : {}), failoverTimeoutSeconds, roles: ['web'] }),
      });
      expect(res.status).toBe(201);
      frameworks.push({ id: ((await res.json()) as { frameworkId: string }).frameworkId, name });
    }
  });

  it('lists every framework in an aligned table: name, user, status, epoch, last seen, failover timeout', async () => {
    const { code, stdout, stderr } = await cli(['frameworks', 'list'], env);
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +USER +STATUS +EPOCH +LAST SEEN +FAILOVER TIMEOUT$/);
    expect(lines).toHaveLength(1 + frameworks.length);
    expect(stdout).toMatch(new RegExp(`${frameworks[0]!.id}  marathon  root +active +1 +\\d+s ago +7d$`, 'm'));
    expect(stdout).toMatch(new RegExp(`${frameworks[1]!.id}  spark +- +active +1 +\\d+s ago +0s$`, 'm'));
    expect(stdout).toMatch(new RegExp(`${frameworks[2]!.id}  chronos +batch +active +1 +\\d+s ago +1m 30s$`, 'm'));
    const at = lines[0]!.indexOf('STATUS');
    for (const line of lines.slice(1)) expect(line.slice(at)).toMatch(/^active /);
  });

  it('gets one framework, in detail or as JSON without its secret', async () => {
    const human = await cli(['frameworks', 'get', frameworks[0]!.id], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^name: +marathon$/m);
    expect(human.stdout).toMatch(/^user: +root$/m);
    expect(human.stdout).toMatch(/^failover timeout: +7d$/m);
    expect(human.stdout).toMatch(/^roles: +web$/m);
    expect(human.stdout).toMatch(/^last seen: +.+\(\d+s ago\)$/m);
    expect(human.stdout).toMatch(/^AT +EVENT +BY +REASON$/m);
    expect(human.stdout).toMatch(/ registered +framework\n/);
    const json = await cli(['frameworks', 'get', frameworks[0]!.id, '--json'], env);
    const view = JSON.parse(json.stdout) as FrameworkView;
    expect(view).toMatchObject({ id: frameworks[0]!.id, status: 'active', failoverTimeoutSeconds: 604_800 });
    expect(view).not.toHaveProperty('secretHash');
  });

  it('tears a framework down with a reason, after which --status completed lists it', async () => {
    const { id } = frameworks[1]!;
    const down = await cli(['frameworks', 'teardown', id, '--reason', 'job finished'], env);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toBe(`framework ${id} (spark): completed\n`);
    const record = JSON.parse((await cli(['frameworks', 'get', id, '--json'], env)).stdout) as FrameworkView;
    expect(record.events.at(-1)).toMatchObject({ type: 'teardown', by: 'operator', reason: 'job finished' });
    const completed = JSON.parse((await cli(['frameworks', 'list', '--status', 'completed', '--json'], env)).stdout) as FrameworkView[];
    expect(completed.map((f) => f.id)).toEqual([id]);
    const active = JSON.parse((await cli(['frameworks', 'list', '--status', 'active', '--json'], env)).stdout) as FrameworkView[];
    expect(active.map((f) => f.id).sort()).toEqual([frameworks[0]!.id, frameworks[2]!.id].sort());
    // Idempotent, as the API's teardown is.
    expect((await cli(['frameworks', 'teardown', id, '--json'], env)).code).toBe(0);
    const none = await cli(['frameworks', 'list', '--status', 'disconnected'], env);
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'no frameworks\n' });
  });

  it('follows the cursors until none comes back, across short and empty pages, keeping the filter', async () => {
    // A stand-in for the API: three pages (the middle one empty, as a filtered page may be).
    const pages: Record<string, { frameworks: { id: string }[]; cursor?: string }> = {
      '': { frameworks: [{ id: 'a' }, { id: 'b' }], cursor: 'c1' },
      c1: { frameworks: [], cursor: 'c2' },
      c2: { frameworks: [{ id: 'c' }] },
    };
    const asked: string[] = [];
    const stub = serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req) => {
        const q = new URL(req.url).searchParams;
        asked.push(`${q.get('status')} ${q.get('cursor') ?? ''}`);
        return Response.json(pages[q.get('cursor') ?? '']);
      },
    });
    await new Promise((resolve) => stub.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
      const { code, stdout } = await cli(['frameworks', 'list', '--status', 'active', '--json', '--url', url], env);
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as { id: string }[]).map((f) => f.id)).toEqual(['a', 'b', 'c']);
      expect(asked).toEqual(['active ', 'active c1', 'active c2']);
    } finally {
      await new Promise((resolve) => stub.close(resolve));
    }
  });

  it('exits 1 on an unknown framework, 2 on a usage mistake', async () => {
    const unknown = await cli(['frameworks', 'get', '00000000-0000-4000-8000-000000000000'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^registrar: GET \/api\/v1\/frameworks\/0{8}-0000-4000-8000-0{12}: 404 Not Found — /);
    const teardown = await cli(['frameworks', 'teardown', '00000000-0000-4000-8000-000000000000'], env);
    expect(teardown.code).toBe(1);
    for (const argv of [['frameworks'], ['frameworks', 'get'], ['frameworks', 'teardown'], ['frameworks', 'list', '--status', 'asleep'], ['frameworks', 'list', '--name', 'x'], ['frameworks', 'kill', 'x']]) {
      const r = await cli(argv, env);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(/^registrar: /);
    }
  });
});

describe('registrar recovery release', () => {
  it('shows a hold, says what a release would mark, releases it, and exits 1 when nothing is held', async () => {
    const { m, agents: held } = await heldMaster(3);
    const server = serve({ fetch: m.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const heldEnv = { REGISTRAR_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, REGISTRAR_OPERATOR_TOKEN: 'operator-token-0123456789' };
    try {
      const status = await cli(['master', 'status'], heldEnv);
      expect(status.stdout).toMatch(/^recovery: +HELD since .+: .+$/m);
      expect(status.stdout).toMatch(/WARNING: unreachable marking is held; release it with `registrar recovery release/);
      const dry = await cli(['recovery', 'release', '--dry-run'], heldEnv);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/^dry run: nothing changed; a release would let the next sweep mark 3 agents unreachable\n/);
      for (const a of held) expect(dry.stdout).toContain(`  ${a.id}\n`);
      const released = await cli(['recovery', 'release', '--reason', 'the rack is really dead', '--json'], heldEnv);
      expect(released.code, released.stderr).toBe(0);
      expect(JSON.parse(released.stdout)).toMatchObject({ released: true, dryRun: false });
      const again = await cli(['recovery', 'release'], heldEnv);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/409 Conflict — not_held: marking is not held/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('registrar simulate', () => {
  it('runs agents that register, heartbeat with tickets and leave, then prints a summary', async () => {
    const before = (JSON.parse((await cli(['agents', 'list', '--status', 'admitted', '--json'], env)).stdout) as AgentView[]).length;
    const { code, stdout, stderr } = await cli(['simulate', '--agents', '5', '--duration', '2s', '--heartbeat-interval', '200ms', '--json'], { REGISTRAR_URL: master.url, REGISTRAR_JOIN_TOKEN: JOIN });
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as Record<string, any>;
    expect(summary).toMatchObject({ agents: 5, registered: 5, heartbeatsFailed: 0, errors: 0, conflicts409: 0 });
    expect(summary.heartbeatsOk).toBeGreaterThanOrEqual(5 * 4);
    expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(summary.latencyMs.p50);
    expect(stderr).toMatch(/\[#+\] 100% +\d+\/2 s +agents 5\/5 +heartbeats \d+ ok 0 failed +errors 0\n$/);
    // They left at the end.
    const after = (JSON.parse((await cli(['agents', 'list', '--status', 'admitted', '--json'], env)).stdout) as AgentView[]).length;
    expect(after).toBe(before);
  });

  it('prints a human summary, and exits 1 with the API message when the join token is refused', async () => {
    const human = await cli(['simulate', '--agents', '1', '--duration', '500ms', '--heartbeat-interval', '100ms'], { REGISTRAR_URL: master.url, REGISTRAR_JOIN_TOKEN: JOIN });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^agents registered +1 of 1$/m);
    expect(human.stdout).toMatch(/^heartbeat latency p99 +[\d.]+ ms$/m);
    const refused = await cli(['simulate', '--agents', '2', '--duration', '2s'], { REGISTRAR_URL: master.url, REGISTRAR_JOIN_TOKEN: 'wrong-join-token-0123456789' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/registration refused: 401 — unauthorized: /);
    const noToken = await cli(['simulate', '--agents', '2'], { REGISTRAR_URL: master.url });
    expect(noToken.code).toBe(2);
  });
});
