// The Lambda entry's runtime duties, with real event shapes: tokens read from Secrets Manager at run
// time (never in the function's configuration) and read again after a rotation, and a registry export
// streamed through Lambda's response streaming past the 6 MB a buffered response may hold.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { createLambdaContainer } from '../../src/lambda.ts';
import { admitAgent } from '../../src/registry/index.ts';
import { STORE_LIMITS } from '../../src/store.ts';
import { MASTER_URL, httpEvent, httpResponse } from './lambda-events.ts';

const env = {
  REGISTRAR_STORE: 'dynamodb:registry',
  REGISTRAR_JOIN_TOKEN_SECRET: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:registrar/join-AbCdEf',
  REGISTRAR_OPERATOR_TOKEN_SECRET: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:registrar/operator-AbCdEf',
  REGISTRAR_FRAMEWORK_TOKEN_SECRET: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:registrar/framework-AbCdEf',
};
const FRAMEWORK_SECRET = { [env.REGISTRAR_FRAMEWORK_TOKEN_SECRET]: 'framework-token-0123456789' };

/** Secrets Manager as the container sees it: values by id, and how often each was read. */
function secrets(values: Record<string, string>) {
  const reads: string[] = [];
  return {
    values,
    reads,
    read: async (id: string) => {
      reads.push(id);
      const value = values[id];
      if (value === undefined) throw new Error(`ResourceNotFoundException: ${id}`);
      return value;
    },
  };
}

const request = async (container: ReturnType<typeof createLambdaContainer>, method: string, path: string, token?: string, body?: unknown) => {
  const req = new Request(`${MASTER_URL['function-url']}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return httpResponse(await container.handler(await httpEvent(req, 'function-url')));
};

describe('tokens from Secrets Manager, at run time', () => {
  it('reads them on first use, caches them, and reads them again when an unknown token arrives (a rotation)', async () => {
    const sm = secrets({ [env.REGISTRAR_JOIN_TOKEN_SECRET]: 'fleet-a:join-token-0123456789', [env.REGISTRAR_OPERATOR_TOKEN_SECRET]: 'operator-token-0123456789', ...FRAMEWORK_SECRET });
    let now = Date.UTC(2026, 0, 1);
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const c = createLambdaContainer({ env, store: createMemoryStore(), readSecret: sm.read, clock, log: () => {} });
    expect((await request(c, 'POST', '/api/v1/agents', 'join-token-0123456789', { hostname: 'a1' })).status).toBe(201);
    expect((await request(c, 'GET', '/api/v1/master', 'operator-token-0123456789')).status).toBe(200);
    expect((await request(c, 'POST', '/api/v1/frameworks', 'framework-token-0123456789', { name: 'marathon' })).status).toBe(201);
    expect(sm.reads).toHaveLength(3); // each secret once, then cached

    // The operator rotates the join token in Secrets Manager; this container has the old list cached.
    sm.values[env.REGISTRAR_JOIN_TOKEN_SECRET] = 'fleet-b:join-token-rotated-987654321';
    now += 31_000;
    const rotated = await request(c, 'POST', '/api/v1/agents', 'join-token-rotated-987654321', { hostname: 'a2' });
    expect(rotated.status).toBe(201);
    expect(sm.reads).toHaveLength(6);
    expect((await request(c, 'POST', '/api/v1/agents', 'join-token-0123456789', { hostname: 'a3' })).status).toBe(401);
    // A flood of bad tokens reads the secrets at most once per refresh period.
    for (let i = 0; i < 20; i++) expect((await request(c, 'POST', '/api/v1/agents', `bad-token-${i}-0123456789`, { hostname: 'x' })).status).toBe(401);
    expect(sm.reads).toHaveLength(6);
  });

  it('answers 503, never an open API, while the secrets cannot be read', async () => {
    const sm = secrets({});
    const c = createLambdaContainer({ env, store: createMemoryStore(), readSecret: sm.read, log: () => {} });
    const res = await request(c, 'POST', '/api/v1/agents', 'join-token-0123456789', { hostname: 'a1' });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/token secrets cannot be read/);
  });
});

/** Lambda's response streaming, as the runtime provides it: chunks reach the client as they are written. */
function fakeStreamingRuntime() {
  const globals = globalThis as { awslambda?: unknown };
  const before = globals.awslambda;
  globals.awslambda = {
    streamifyResponse: (fn: unknown) => fn,
    HttpResponseStream: { from: (stream: Writable & { metadata?: unknown }, metadata: unknown) => Object.assign(stream, { metadata }) },
  };
  return () => {
    globals.awslambda = before;
  };
}

describe('the registry export through response streaming', () => {
  const AGENTS = 20_000;
  let restore: () => void;
  beforeAll(() => {
    restore = fakeStreamingRuntime();
  });
  afterAll(() => restore());

  it(`streams all ${AGENTS} agents, far past the 6 MB of a buffered response`, async () => {
    const store = createMemoryStore();
    const sm = secrets({ [env.REGISTRAR_JOIN_TOKEN_SECRET]: 'join-token-0123456789', [env.REGISTRAR_OPERATOR_TOKEN_SECRET]: 'operator-token-0123456789', ...FRAMEWORK_SECRET });
    const c = createLambdaContainer({ env, store, readSecret: sm.read, log: () => {}, schedulePeriodMs: 1 });
    expect(c.stream).toBeTypeOf('function');
    await c.sweeper(); // one sweep: it writes the master record
    const attributes = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`attribute-${i}`, 'v'.repeat(40)]));
    for (let i = 0; i < AGENTS; i += STORE_LIMITS.writesPerCommit) {
      await store.commit(Array.from({ length: STORE_LIMITS.writesPerCommit }, (_, n) => {
        const id = `00000000-0000-4000-8000-${String(i + n).padStart(12, '0')}`;
        const record = admitAgent({ id, info: { hostname: `host-${i + n}`, port: 5051, resources: { cpus: 8 }, attributes, version: '1' }, secretHash: 'sha256:x', epoch: 1, now: 0, by: 'join' });
        return { key: `agents/${id}`, expect: 'absent' as const, put: record };
      }));
    }
    const chunks: Buffer[] = [];
    const responseStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    }) as Writable & { metadata?: { statusCode: number; headers: Record<string, string> } };
    const event = await httpEvent(new Request(`${MASTER_URL['function-url']}/api/v1/registry`, { headers: { authorization: 'Bearer operator-token-0123456789' } }), 'function-url');
    await (c.stream as unknown as (e: unknown, s: Writable, ctx: unknown) => Promise<void>)(event, responseStream, {});
    expect(responseStream.metadata?.statusCode).toBe(200);
    expect(responseStream.metadata?.headers['content-type']).toMatch(/ndjson/);
    const body = Buffer.concat(chunks);
    expect(body.length).toBeGreaterThan(6 * 1024 * 1024);
    expect(chunks.length).toBeGreaterThan(10); // written as it was read, not in one piece
    const lines = body.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { key?: string; end?: boolean; count?: number });
    expect(lines.filter((l) => l.key?.startsWith('agents/'))).toHaveLength(AGENTS);
    expect(lines.at(-1)).toEqual({ end: true, count: AGENTS + 1 }); // the agents and the master record
    expect(body.toString('utf8')).not.toMatch(/secretHash/);
  }, 120_000);
});
