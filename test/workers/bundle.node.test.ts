// What `npm run deploy:cf` would upload: wrangler's dry run builds the bundle offline, and the bundle
// runs on Miniflare (workerd) from Node: without its secrets it refuses everything; with them it
// serves, and a new Miniflare process over the same persisted storage keeps the registry.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { FAST_TIMINGS, FRAMEWORK, JOIN, OPERATOR } from './bindings.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

let dir: string;
let bundle: string;
let dryRun: { stdout: string; stderr: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registrar-cf-'));
  dryRun = await run(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', join(dir, 'out')], {
    cwd: ROOT,
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(dir, 'config'), // wrangler's logs and settings, away from the home folder
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_HIDE_BANNER: 'true', // the banner checks npm for a newer wrangler
      CI: 'true',
    },
  });
  bundle = join(dir, 'out', 'worker.js');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The deployment's settings, read from wrangler.toml so the test cannot drift from it. */
async function deployment() {
  const toml = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  return { compatibilityDate: date!, compatibilityFlags: [...(flags ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!) };
}

async function start(bindings: Record<string, string>, persist: string) {
  const lines: string[] = [];
  const mf = new Miniflare({
    ...(await deployment()),
    modules: true,
    scriptPath: bundle,
    modulesRoot: join(dir, 'out'),
    durableObjects: { REGISTRY: { className: 'Registry', useSQLite: true } },
    durableObjectsPersist: persist,
    bindings,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      for (const stream of [stdout, stderr]) stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    },
  });
  await mf.ready;
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await mf.dispatchFetch(`http://registrar.example${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { mf, call, lines };
}

describe('the Cloudflare deployment', () => {
  it('builds offline with wrangler deploy --dry-run: one bundle, the Registry Durable Object bound', () => {
    expect(dryRun.stdout).toMatch(/env\.REGISTRY \(Registry\)\s+Durable Object/);
    expect(dryRun.stdout).toMatch(/--dry-run: exiting now/);
  });

  it('refuses every request when its tokens are not set (503, and 401 from the Worker itself without credentials), and says why in its log', async () => {
    const { mf, call, lines } = await start({ ...FAST_TIMINGS }, join(dir, 'no-tokens'));
    try {
      for (const [method, path, token, body] of [
        ['GET', '/health'],
        ['POST', '/api/v1/agents', 'anything-at-all-0123456789', { hostname: 'h' }],
        ['GET', '/api/v1/master', 'anything-at-all-0123456789'],
        ['GET', '/api/v1/registry', 'anything-at-all-0123456789'],
      ] as const) {
        const res = await call(method, path, token, body);
        expect(res.status, `${method} ${path}`).toBe(503);
        expect(res.body.message).toMatch(/REGISTRAR_JOIN_TOKEN and REGISTRAR_OPERATOR_TOKEN are required/);
      }
      // No credential at all: the Worker answers before the Durable Object, as the master would.
      for (const [method, path] of [['GET', '/api/v1/agents'], ['GET', '/api/v1/registry']] as const) {
        expect((await call(method, path)).status, `${method} ${path}`).toBe(401);
      }
      // workerd's output reaches us through a pipe, possibly after the responses.
      await eventually('the refusal in the log', () => lines.join('\n'), (log) => /registrar is not configured/.test(log));
    } finally {
      await mf.dispose();
    }
  });

  it('serves with its secrets, and keeps the registry and the epoch across a restart of the whole runtime', async () => {
    const persist = join(dir, 'state');
    const secrets = { REGISTRAR_JOIN_TOKEN: JOIN, REGISTRAR_OPERATOR_TOKEN: OPERATOR, REGISTRAR_FRAMEWORK_TOKEN: FRAMEWORK };
    // Long timings: the restart below must not look like a lapsed lease.
    const first = await start({ ...secrets, REGISTRAR_MASTER_LEASE: '60s' }, persist);
    let agent: { agentId: string; secret: string; epoch: number };
    try {
      expect((await first.call('GET', '/health')).status).toBe(200);
      const registered = await first.call('POST', '/api/v1/agents', JOIN, { hostname: 'cf-1' });
      expect(registered.status).toBe(201);
      agent = registered.body;
      expect((await first.call('POST', `/api/v1/agents/${agent.agentId}/heartbeat`, agent.secret, { epoch: agent.epoch })).status).toBe(200);
    } finally {
      await first.mf.dispose();
    }
    const second = await start({ ...secrets, REGISTRAR_MASTER_LEASE: '60s' }, persist);
    try {
      const beat = await second.call('POST', `/api/v1/agents/${agent.agentId}/heartbeat`, agent.secret, { epoch: agent.epoch });
      expect(beat.status).toBe(200);
      expect(beat.body.epoch).toBe(agent.epoch);
      const listed = await second.call('GET', '/api/v1/agents', OPERATOR);
      expect(listed.body.agents.map((a: { info: { hostname: string } }) => a.info.hostname)).toEqual(['cf-1']);
    } finally {
      await second.mf.dispose();
    }
  });
});
