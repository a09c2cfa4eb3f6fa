// The registries the fuzzer sends its requests to. Each kind is built once over the API (agents and
// frameworks with chosen ids and secrets, so that it is the same every time), then copied into a fresh memory store
// for every generated case: a case starts from a known registry, so a failing seed replays exactly.
import { expect } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FakeClock } from '../../src/clock.ts';
import type { Item, Store } from '../../src/store.ts';
import { FRAMEWORK, OPERATOR, testMaster } from '../support/master.ts';
import { dump, failover, serve, servingMaster, type Agent, type TestMaster } from '../support/master-http.ts';

export type WorldKind = 'steady' | 'held' | 'limited';

/** What a case knows about one agent; `note` says what the template made of it. */
export interface KnownAgent {
  id: string;
  secret: string;
  note: string;
  machineId?: string;
  /** Tickets the master issued to it (rule 13): an expired one from before its changes, then a live one. */
  tickets?: string[];
}

/** What a case knows about one framework (its id and secret); `note` says what the template made of it. */
export type KnownFramework = Pick<KnownAgent, 'id' | 'secret' | 'note'>;

export interface Template {
  kind: WorldKind;
  items: Item<unknown>[];
  now: number;
  agents: KnownAgent[];
  frameworks: KnownFramework[];
}

/** A case's master over its own copy of a template. */
export interface World {
  kind: WorldKind;
  m: TestMaster;
  agents: KnownAgent[];
  frameworks: KnownFramework[];
  /** The master's epoch, as the store says (ticks may start a new one). */
  epoch: number;
  /** Cursors that list pages gave back, for later lists to present. */
  cursors: string[];
}

/** The i-th chosen agent id (`a…`, a framework's `f…`): a UUID (version 4, variant 8), lowercase. */
export const chosenId = (i: number, world = 0, holder: 'a' | 'f' = 'a') => `${holder}${world}${String(i).padStart(6, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`;
/** The i-th chosen secret: 43 base64url characters, as 32 random bytes would be. */
export const chosenSecret = (i: number, world = 0, holder: 'a' | 'f' = 'a') => `fuzz-${holder === 'a' ? '' : 'fw-'}secret-${world}-${i}-`.padEnd(43, 'S');

async function registerChosen(m: TestMaster, i: number, world: number, info: Record<string, unknown>): Promise<KnownAgent & Agent> {
  const id = chosenId(i, world);
  const secret = chosenSecret(i, world);
  const res = await m.api.register({ ...info, agentId: id, secret });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id, secret, epoch: res.body.epoch, note: 'admitted', ...(typeof info.machineId === 'string' ? { machineId: info.machineId } : {}) };
}

/** A framework registered with a chosen id and secret (the framework token), in the epoch it was told. */
async function registerFrameworkChosen(m: TestMaster, i: number, world: number, note: string, body: Record<string, unknown>): Promise<KnownFramework & Agent> {
  const id = chosenId(i, world, 'f');
  const secret = chosenSecret(i, world, 'f');
  const res = await m.call('POST', '/api/v1/frameworks', { token: FRAMEWORK, body: { ...body, frameworkId: id, secret } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id, secret, epoch: res.body.epoch, note };
}

const DAY_SECONDS = 86_400;

/**
 * The frameworks registered early, before a long silence: one that stays silent (disconnected by
 * then, with a week's failover timeout: never completed within a case), one torn down by an operator,
 * one that tears itself down (DELETE). `note` names the silent one.
 */
async function earlyFrameworks(m: TestMaster, world: number, silent: string): Promise<(KnownFramework & Agent)[]> {
  const quiet = await registerFrameworkChosen(m, 0, world, silent, { name: 'batch', user: 'etl', roles: ['analytics'], failoverTimeoutSeconds: 7 * DAY_SECONDS });
  const torn = await registerFrameworkChosen(m, 1, world, 'completed (operator teardown)', { name: 'old-marathon', principal: 'marathon', capabilities: ['MULTI_ROLE'] });
  await ok(m.call('POST', `/api/v1/frameworks/${torn.id}/teardown`, { token: OPERATOR, body: { reason: 'retired' } }));
  const left = await registerFrameworkChosen(m, 2, world, 'completed (own DELETE)', { name: 'one-shot', hostname: 'sched-2', webuiUrl: 'http://sched-2:8080' });
  await ok(m.call('DELETE', `/api/v1/frameworks/${left.id}`, { token: left.secret }), 204);
  return [quiet, torn, left];
}

/** The framework registered late and heartbeating: active at the template's end. */
const activeFramework = (m: TestMaster, world: number) =>
  registerFrameworkChosen(m, 3, world, 'active', { name: 'marathon', user: 'root', roles: ['*', 'web'], principal: 'marathon', hostname: 'sched-3', capabilities: ['PARTITION_AWARE'], failoverTimeoutSeconds: 3600 });

async function expectFramework(m: TestMaster, f: KnownFramework, status: string): Promise<void> {
  expect((await m.store.get<any>(`frameworks/${f.id}`))!.value.status, f.note).toBe(status);
}

/** A heartbeat's ticket. */
async function ticketOf(m: TestMaster, a: Agent): Promise<string> {
  const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.ticket as string;
}

async function ok(res: Promise<{ status: number; body: unknown }>, status = 200): Promise<void> {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
}

/**
 * A registry after some life: admitted agents (one with attributes, two on machines), one drained,
 * one draining with a deadline, one deactivated, two gone (by an operator, and by draining with
 * markGone), one unreachable (silent while the others heartbeat), and one that left (its id unknown).
 * Frameworks: one active (heartbeating), one disconnected (silent), two completed (by an operator's
 * teardown, and by its own DELETE).
 */
async function steadyTemplate(kind: 'steady' | 'limited'): Promise<Template> {
  const world = kind === 'steady' ? 0 : 2;
  const m = await servingMaster();
  const agents: (KnownAgent & Agent)[] = [];
  for (let i = 0; i < 9; i++) {
    const info: Record<string, unknown> = { hostname: `host-${i}`, attributes: { rack: `r${i % 3}` }, resources: { cpus: i + 1, mem: `${i}G` } };
    if (i === 0 || i === 7) info.machineId = `machine-${i}`;
    agents.push(await registerChosen(m, i, world, info));
  }
  const at = (i: number): Agent => agents[i]!;
  const [a2, a3, a4, a5, a6, a7, a8] = [at(2), at(3), at(4), at(5), at(6), at(7), at(8)];
  const frameworks = await earlyFrameworks(m, world, 'disconnected (silent, a week to fail over)');
  const active = await activeFramework(m, world);
  frameworks.push(active);
  // Agent 7 stays silent until the sweeper marks it unreachable; the others heartbeat meanwhile.
  await serve(m, m.policy.agentTimeout + m.policy.livenessGranularity + 3 * m.policy.sweepInterval, agents.filter((a) => a !== a7), [active]);
  expect((await m.store.get<any>(`agents/${a7.id}`))!.value.status).toBe('unreachable');
  await expectFramework(m, frameworks[0]!, 'disconnected');
  agents[7]!.note = 'unreachable';
  // Tickets from before the operator's changes: replayed later, after they expired (gone stays gone).
  for (const a of agents.slice(0, 7)) a.tickets = [await ticketOf(m, a)];
  await ok(m.api.operator('POST', `/agents/${a2.id}/drain`, {}));
  await ok(m.api.heartbeat(a2.id, a2.secret, { epoch: a2.epoch, drained: true }));
  agents[2]!.note = 'drained';
  await ok(m.api.operator('POST', `/agents/${a3.id}/drain`, { maxGracePeriodSeconds: 600, reason: 'kernel upgrade' }));
  agents[3]!.note = 'draining';
  await ok(m.api.operator('POST', `/agents/${a4.id}/deactivate`, { reason: 'flaky disk' }));
  agents[4]!.note = 'deactivated';
  await ok(m.api.operator('POST', `/agents/${a5.id}/gone`, { reason: 'decommissioned' }));
  agents[5]!.note = 'gone';
  await ok(m.api.operator('POST', `/agents/${a6.id}/drain`, { markGone: true }));
  expect((await m.api.heartbeat(a6.id, a6.secret, { epoch: a6.epoch, drained: true })).status).toBe(410);
  agents[6]!.note = 'gone (drained with markGone)';
  await ok(m.call('DELETE', `/api/v1/agents/${a8.id}`, { token: a8.secret }), 204);
  agents[8]!.note = 'left';
  // Past those tickets' expiry; the agents still admitted heartbeat and get live ones.
  await serve(m, m.policy.livenessGranularity + m.policy.sweepInterval, [at(0), at(1), a2, a3, a4], [active]);
  for (const a of agents.slice(0, 5)) a.tickets!.push(await ticketOf(m, a));
  // A sweep that scans (not one skipped for following the last too closely): `counts` are current.
  m.clock.advance(m.policy.sweepInterval);
  await m.sweep();
  await expectFramework(m, active, 'active');
  return { kind, items: await dump(m.store), now: m.clock.now(), agents: agents.map(({ epoch: _e, ...a }) => a), frameworks: frameworks.map(({ epoch: _e, ...f }) => f) };
}

/**
 * A registry whose marking is held: three agents missed the re-registration window after a
 * failover; two more joined the new epoch since (one of them gone). Frameworks: one on the old
 * epoch (silent since the failover, a week to fail over), two completed before the failover (an
 * operator's teardown, its own DELETE), and one active in the new epoch.
 */
async function heldTemplate(): Promise<Template> {
  const world = 1;
  const m = await servingMaster();
  const agents: KnownAgent[] = [];
  for (let i = 0; i < 3; i++) agents.push(await registerChosen(m, i, world, { hostname: `held-${i}`, machineId: `held-machine-${i}` }));
  const [old, torn, left] = await earlyFrameworks(m, world, 'old epoch');
  await failover(m);
  await serve(m, m.policy.reregisterTimeout + m.policy.sweepInterval);
  expect((await m.store.get<any>('master'))!.value.recovery.state).toBe('held');
  for (const a of agents) a.note = 'old epoch (held)';
  for (let i = 3; i < 5; i++) agents.push(await registerChosen(m, i, world, { hostname: `late-${i}` }));
  await ok(m.api.operator('POST', `/agents/${chosenId(4, world)}/gone`, {}));
  agents[4]!.note = 'gone';
  // Overdue since the window closed, but not disconnected: marking is held for frameworks too.
  await expectFramework(m, old!, 'active');
  old!.note = 'old epoch (active, held back)';
  const active = await activeFramework(m, world);
  m.clock.advance(m.policy.sweepInterval);
  await m.sweep();
  await ok(m.call('POST', `/api/v1/frameworks/${active.id}/heartbeat`, { token: active.secret, body: { epoch: active.epoch } }));
  await expectFramework(m, active, 'active');
  const frameworks = [old!, torn!, left!, active].map(({ epoch: _e, ...f }) => f);
  return { kind: 'held', items: await dump(m.store), now: m.clock.now(), agents, frameworks };
}

const templates = new Map<WorldKind, Promise<Template>>();

export function template(kind: WorldKind): Promise<Template> {
  let t = templates.get(kind);
  if (!t) {
    t = kind === 'held' ? heldTemplate() : steadyTemplate(kind);
    templates.set(kind, t);
  }
  return t;
}

async function copyInto(store: Store, items: Item<unknown>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    await store.commit(items.slice(i, i + 25).map((item) => ({ key: item.key, expect: 'absent' as const, put: item.value })));
  }
}

/**
 * A fresh master over a copy of the template. The `limited` world takes two registrations a minute
 * per join-token label, of which the `join` label has used one (429 rate_limited from its second;
 * `rack-9` has both), and holds at most five admitted agents, as many as the template has (429
 * registry-full for new agents, until sweeps find some unreachable). Framework registrations have
 * the same rate, all used (429 rate_limited until a minute has passed).
 */
export async function world(kind: WorldKind): Promise<World> {
  const t = await template(kind);
  const store = createMemoryStore();
  await copyInto(store, t.items);
  const m = testMaster({
    store,
    clock: new FakeClock(t.now),
    ...(kind === 'limited' ? { policy: { maxAgents: 5 }, registrationRateLimit: { count: 2, per: 60_000 } } : {}),
  });
  if (kind === 'limited') {
    // A refused registration (an agent's id with another secret) takes a token and writes nothing.
    const res = await m.api.register({ hostname: 'h', agentId: t.agents[0]!.id, secret: chosenSecret(99) });
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    // So do a framework's (the framework token has a rate of its own): two, its whole rate.
    for (let i = 0; i < 2; i++) {
      const fw = await m.call('POST', '/api/v1/frameworks', { token: FRAMEWORK, body: { name: 'x', frameworkId: t.frameworks[i]!.id, secret: chosenSecret(99, 2, 'f') } });
      expect(fw.status, JSON.stringify(fw.body)).toBe(403);
    }
  }
  const master = (await store.get<{ epoch: number }>('master'))!.value;
  return { kind, m, agents: t.agents.map((a) => ({ ...a })), frameworks: t.frameworks.map((f) => ({ ...f })), epoch: master.epoch, cursors: [] };
}
