// Fuzzing every endpoint of the master with fast-check (issue 12, item 5; frameworks: issue 16):
// generated requests, sent through app.request() on a fake clock and the memory store, to registries
// with real agents in them (admitted, drained, draining, deactivated, gone, unreachable, left; a held
// recovery; rate and size limits) and frameworks (active, disconnected, completed by an operator or by
// itself, on an old epoch). Malformed JSON, wrong types, huge and unicode strings (lone surrogates, NUL, emoji),
// odd ids and paths, missing, forged and wrong-kind credentials, another agent's (or framework's) secret, oversized
// bodies, junk tickets, requests replayed after gone. For every request:
//   - never a 5xx (no store failure is injected), only the documented status codes;
//   - every 4xx is a JSON `{ error, message }`;
//   - a rejected request leaves the registry as it was (the whole store, versions included), and so
//     does every read;
//   - no answer carries a secret hash;
//   - on the endpoints' own paths: no or malformed credentials are a 401, a credential of the wrong
//     kind a 403, a forged one (or another's secret) never gets past 401/404/400; a body over
//     32 KiB is a 413 and no smaller body is; /health is always 200.
// Seeded: a failure prints its seed and path; FUZZ_SEED=<n> tries other seeds.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../src/store.ts';
import { FRAMEWORK } from '../support/master.ts';
import { dump, expectError } from '../support/master-http.ts';
import { ALL_ENDPOINTS, concreteRequest as concrete, stepsArb } from './framework-requests.ts';
import { describe as describeRequest, type Concrete, type Step } from './requests.ts';
import { template, world, type World, type WorldKind } from './world.ts';

/** 303: the dashboard's pages send a browser without a session to sign in; 406 and 415: the Mesos-compatible endpoint's content negotiation. */
const DOCUMENTED = new Set([200, 201, 204, 303, 400, 401, 403, 404, 406, 409, 410, 413, 415, 429]);
const MIN_REQUESTS = 10_000;

/** Seeds: fixed, so that a failure replays; FUZZ_SEED shifts them all and FUZZ_SCALE multiplies the runs, to explore. */
const BASE_SEED = Number(process.env.FUZZ_SEED ?? 20_260_112);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const RUNS: Record<WorldKind, { seed: number; numRuns: number }> = {
  steady: { seed: BASE_SEED, numRuns: Math.ceil(1200 * SCALE) },
  held: { seed: BASE_SEED + 1, numRuns: Math.ceil(400 * SCALE) },
  limited: { seed: BASE_SEED + 2, numRuns: Math.ceil(400 * SCALE) },
};

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

const stats = new Map<string, { sent: number; statuses: Map<number, number> }>(ALL_ENDPOINTS.map((e) => [e, { sent: 0, statuses: new Map() }]));
/** Error codes seen, e.g. `409 machine-in-use`, to show which refusals the generators reach. */
const errors = new Map<string, number>();
let total = 0;

async function send(w: World, c: Concrete): Promise<Answer> {
  const res = await w.m.app.request(c.path, { method: c.method, headers: c.headers, ...(c.body === undefined ? {} : { body: c.body }) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** The keys whose item was added, removed or rewritten. */
function changedKeys(before: Item<unknown>[], after: Item<unknown>[]): string[] {
  const versions = (items: Item<unknown>[]) => new Map(items.map((i) => [i.key, i.version]));
  const a = versions(before);
  const b = versions(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
}

/**
 * The one 4xx that changes the store, by design: a heartbeat reporting `drained: true` for an agent
 * draining with `markGone` is applied (the record moves to drained and gone) and answered 410, so the
 * agent shuts down now rather than at its next heartbeat. It is no rejected request: the report was
 * taken. Every other 4xx leaves the store alone; this case is let through only when the change is
 * exactly that: the one agent's record, from draining with markGone to drained and gone.
 */
function drainedIntoGone(c: Concrete, res: Answer, before: Item<unknown>[], after: Item<unknown>[]): boolean {
  if (c.endpoint !== 'heartbeat' || res.status !== 410) return false;
  // The change's own events (drained, gone) go to the event log in the same commit.
  const changed = changedKeys(before, after).filter((k) => !k.startsWith('events/'));
  if (changed.length !== 1 || !changed[0]!.startsWith('agents/')) return false;
  const was = before.find((i) => i.key === changed[0])?.value as { status?: string; drain?: { state?: string; markGone?: boolean } } | undefined;
  const now = after.find((i) => i.key === changed[0])?.value as { status?: string; drain?: { state?: string } } | undefined;
  return was?.status === 'admitted' && was.drain?.state === 'draining' && was.drain.markGone === true && now?.status === 'gone' && now.drain?.state === 'drained';
}

/** Everything wrong with one answer. */
function problems(c: Concrete, res: Answer, before: Item<unknown>[], after: Item<unknown>[]): string[] {
  const out: string[] = [];
  const { status } = res;
  const json = parseJson(res.text) as Record<string, unknown> | undefined;
  // Pages for people (the dashboard, /doc) and Prometheus' text answer in their own formats, as documented.
  const text = (res.headers.get('content-type') ?? '').startsWith('text/');
  if (!DOCUMENTED.has(status)) out.push(`status ${status} is not a documented one`);
  if (status >= 400 && c.method !== 'HEAD' && !text) {
    const typeOk = (res.headers.get('content-type') ?? '').startsWith('application/json');
    const shapeOk = typeof json === 'object' && json !== null && typeof json.error === 'string' && json.error !== '' && typeof json.message === 'string' && json.message !== '';
    if (!typeOk || !shapeOk) out.push(`a ${status} without a JSON { error, message } body`);
  }
  const unchanged = JSON.stringify(before) === JSON.stringify(after);
  if (status >= 400 && !unchanged && !drainedIntoGone(c, res, before, after)) out.push(`a rejected request (${status}) changed the store: ${changedKeys(before, after).join(', ')}`);
  if ((c.method === 'GET' || c.method === 'HEAD') && !unchanged) out.push(`a read changed the store: ${changedKeys(before, after).join(', ')}`);
  if (res.text.includes('secretHash') || res.text.includes('sha256:')) out.push('the answer carries a secret hash');
  // The Mesos operator API answers its actions (MARK_AGENT_GONE, ...) with 200 and an empty body, as Mesos does.
  const mesosAction = c.endpoint === 'mesos' && status === 200 && res.text === '';
  if (status < 300 && status !== 204 && c.method !== 'HEAD' && !text && !mesosAction) {
    if (res.headers.get('content-type')?.startsWith('application/x-ndjson')) {
      const lines = res.text.trimEnd().split('\n').map(parseJson);
      if (lines.some((l) => l === undefined) || (lines.at(-1) as { end?: boolean } | undefined)?.end !== true) out.push('the NDJSON export is not whole JSON lines ending with {"end":true}');
    } else if (json === undefined) {
      out.push(`a ${status} whose body is not JSON`);
    }
  }
  if (status === 409 && json?.error === 'reregister' && typeof json.epoch !== 'number') out.push('a 409 reregister without the epoch');
  if ((status === 429 || json?.error === 'machine-in-use') && !/^[1-9]\d*$/.test(res.headers.get('retry-after') ?? '')) out.push(`a ${status} ${String(json?.error)} without Retry-After`);

  if (c.clean) {
    if (c.endpoint === 'health' && status !== 200) out.push(`/health answered ${status}`);
    if (c.oversized && status !== 413) out.push(`a body of ${c.body!.length} bytes (over ${32 * 1024}) answered ${status}, not 413`);
    if (!c.oversized && status === 413) out.push(`a body of ${c.body?.length ?? 0} bytes (within the limit) answered 413`);
    if (!c.oversized) {
      const expected: Record<string, number[]> = {
        missing: [401],
        'wrong-kind': [403],
        invalid: c.need === 'agent' || c.need === 'scheduler' ? [400, 401, 404] : [401],
      };
      const allowed = expected[c.auth];
      if (allowed && !allowed.includes(status)) out.push(`credentials ${c.auth} (${c.spec.token.k}) answered ${status}, expected ${allowed.join(' or ')}`);
    }
  }
  return out;
}

/** What the case's world learns from an accepted answer: new agents and frameworks and their (rotated) secrets, list cursors. */
function learn(w: World, c: Concrete, res: Answer): void {
  if (res.status >= 300) return;
  const json = parseJson(res.text) as Record<string, unknown> | undefined;
  for (const [idKey, holders] of [['agentId', w.agents], ['frameworkId', w.frameworks]] as const) {
    const id = json?.[idKey];
    if (typeof id !== 'string' || typeof json?.secret !== 'string') continue;
    const known = holders.find((a) => a.id === id);
    if (known) known.secret = json.secret;
    else holders.push({ id, secret: json.secret, note: `registered in this case by ${c.method} ${c.path}` });
  }
  if ((c.endpoint === 'list' || c.endpoint === 'fwList') && typeof json?.cursor === 'string' && w.cursors.length < 20) w.cursors.push(json.cursor);
}

async function runCase(kind: WorldKind, steps: Step[]): Promise<void> {
  const w = await world(kind);
  let before = await dump(w.m.store);
  for (const step of steps) {
    if ('tick' in step) {
      w.m.clock.advance(step.tick);
      await w.m.sweep();
      w.epoch = (await w.m.store.get<{ epoch: number }>('master'))!.value.epoch;
      before = await dump(w.m.store);
      continue;
    }
    const c = concrete(w, step);
    const res = await send(w, c);
    const after = await dump(w.m.store);
    total++;
    const s = stats.get(c.endpoint)!;
    s.sent++;
    s.statuses.set(res.status, (s.statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 400) {
      const code = `${res.status} ${String((parseJson(res.text) as { error?: unknown } | undefined)?.error)}`;
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
    const found = problems(c, res, before, after);
    if (found.length > 0) {
      throw new Error(`${found.join('; ')}\n  request: ${describeRequest(c)}\n  answer: ${res.status} ${res.text.slice(0, 400)}`);
    }
    learn(w, c, res);
    before = after;
  }
}

function fuzz(kind: WorldKind) {
  return fc.assert(
    fc.asyncProperty(stepsArb, (steps) => runCase(kind, steps)),
    RUNS[kind],
  );
}

describe('fuzzing every endpoint (fast-check)', () => {
  beforeAll(async () => {
    await Promise.all([template('steady'), template('held'), template('limited')]);
  });

  afterAll(() => {
    const rows = [...stats].map(([e, s]) => `${e.padEnd(12)} ${String(s.sent).padStart(5)}  ${[...s.statuses].sort(([a], [b]) => a - b).map(([k, n]) => `${k}:${n}`).join(' ')}`);
    const codes = [...errors].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k}:${n}`);
    console.log(`fuzz: ${total} requests (seeds ${RUNS.steady.seed}, ${RUNS.held.seed}, ${RUNS.limited.seed})\n${rows.join('\n')}\nerrors: ${codes.join(', ')}`);
  });

  it('a registry in steady state: admitted, drained, draining, deactivated, gone, unreachable and departed agents; active, disconnected and completed frameworks', () => fuzz('steady'), 60_000 * SCALE);

  it('a registry whose marking is held after a failover (release, pending, old-epoch agents and framework)', () => fuzz('held'), 60_000 * SCALE);

  it("a registry with registration limits: a per-token rate and a maximum of admitted agents (429); the framework token's whole rate used", () => fuzz('limited'), 60_000 * SCALE);

  // The one 4xx that changes the store, by design: the drained report is applied, and because the
  // drain was to end in gone, the agent is told at once to shut down (410) rather than at its next beat.
  it('a heartbeat reporting drained under a markGone drain is applied, and answered 410 so the agent shuts down now', async () => {
    const w = await world('steady');
    const a = w.agents[0]!;
    expect((await w.m.api.operator('POST', `/agents/${a.id}/drain`, { markGone: true })).status).toBe(200);
    const before = await dump(w.m.store);
    const res = await w.m.api.heartbeat(a.id, a.secret, { epoch: w.epoch, drained: true });
    expect(res.status).toBe(410);
    const changed = changedKeys(before, await dump(w.m.store));
    expect(changed.filter((k) => !k.startsWith('events/'))).toEqual([`agents/${a.id}`]);
    expect(changed.filter((k) => k.startsWith('events/'))).toHaveLength(2); // drained, then gone
    expect((await w.m.store.get<{ status: string; drain: { state: string } }>(`agents/${a.id}`))?.value).toMatchObject({ status: 'gone', drain: { state: 'drained' } });
  });

  it('tickets replayed after gone get 410 and change nothing; a live ticket answers without changing the store', async () => {
    const w = await world('steady');
    const gone = w.agents.find((a) => a.note === 'gone')!;
    const live = w.agents[0]!;
    const before = await dump(w.m.store);
    const replayed = await w.m.api.heartbeat(gone.id, gone.secret, { epoch: w.epoch, ticket: gone.tickets![0] });
    expect(replayed.status).toBe(410);
    const answered = await w.m.api.heartbeat(live.id, live.secret, { epoch: w.epoch, ticket: live.tickets![1] });
    expect(answered.status).toBe(200);
    expect(answered.body.ticket).toBe(live.tickets![1]);
    expect(changedKeys(before, await dump(w.m.store))).toEqual([]);
  });

  it("a completed framework's heartbeat and re-registration (by its id, or a retried registration) get 410 and change nothing", async () => {
    const w = await world('steady');
    const completed = w.frameworks.filter((f) => f.note.startsWith('completed'));
    expect(completed.map((f) => f.note)).toEqual(['completed (operator teardown)', 'completed (own DELETE)']);
    const before = await dump(w.m.store);
    for (const f of completed) {
      expectError(await w.m.call('POST', `/api/v1/frameworks/${f.id}/heartbeat`, { token: f.secret, body: { epoch: w.epoch } }), 410, 'gone');
      expectError(await w.m.call('POST', `/api/v1/frameworks/${f.id}/reregister`, { token: f.secret, body: { name: 'again', rotateSecret: true } }), 410, 'gone');
      expectError(await w.m.call('POST', '/api/v1/frameworks', { token: FRAMEWORK, body: { name: 'again', frameworkId: f.id, secret: f.secret } }), 410, 'gone');
    }
    expect(changedKeys(before, await dump(w.m.store))).toEqual([]);
  });

  it(`sent at least ${MIN_REQUESTS} requests, to every endpoint`, () => {
    expect(total).toBeGreaterThanOrEqual(MIN_REQUESTS);
    for (const [endpoint, s] of stats) expect(s.sent, endpoint).toBeGreaterThan(100);
  });
});
