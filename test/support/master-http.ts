// Helpers for the master's HTTP tests: agents registered over the API, time that passes with a
// sweeper serving, a store that can be made to fail, and a full dump to prove nothing changed.
import { expect } from 'vitest';
import { StoreUnavailableError, type Item, type Store, type Write } from '../../src/store.ts';
import { testMaster } from './master.ts';

export type TestMaster = ReturnType<typeof testMaster>;

export interface Agent {
  id: string;
  secret: string;
  epoch: number;
}

/** Registers an agent over the API and checks the 201. */
export async function registerAgent(m: TestMaster, body: Record<string, unknown> = { hostname: 'a1' }): Promise<Agent> {
  const res = await m.api.register(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.agentId, secret: res.body.secret, epoch: res.body.epoch };
}

/** A master that has swept once, so the API serves. */
export async function servingMaster(opts: Parameters<typeof testMaster>[0] = {}): Promise<TestMaster> {
  const m = testMaster(opts);
  await m.sweep();
  return m;
}

/**
 * Lets `ms` pass with a sweeper running every sweep interval; the given agents (and frameworks)
 * heartbeat every heartbeat interval (in the epoch they know), as live agents and schedulers do.
 */
export async function serve(m: TestMaster, ms: number, live: Agent[] = [], liveFrameworks: Agent[] = []): Promise<void> {
  const step = m.policy.sweepInterval;
  let sinceBeat = 0;
  for (let passed = 0; passed < ms; passed += step) {
    m.clock.advance(step);
    sinceBeat += step;
    if (sinceBeat >= m.policy.heartbeatInterval) {
      sinceBeat = 0;
      for (const a of live) {
        const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
      for (const f of liveFrameworks) {
        const res = await m.call('POST', `/api/v1/frameworks/${f.id}/heartbeat`, { token: f.secret, body: { epoch: f.epoch } });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
    }
    await m.sweep();
  }
}

/** No master serves for longer than the lease (plus the skew); the next sweep starts a new epoch. */
export async function failover(m: TestMaster): Promise<number> {
  m.clock.advance(m.policy.masterLease + m.policy.maxClockSkew + 1);
  const report = await m.sweep();
  expect(report.step).toBe('new-epoch');
  return report.epoch!;
}

/**
 * A hold: `n` (≥ 3) agents admitted, a failover, and none of them re-registers within the window,
 * so the sweep that closes it holds marking instead.
 */
export async function heldMaster(n = 3): Promise<{ m: TestMaster; agents: Agent[] }> {
  const m = await servingMaster();
  const agents: Agent[] = [];
  for (let i = 0; i < n; i++) agents.push(await registerAgent(m, { hostname: `held-${i}` }));
  await failover(m);
  await serve(m, m.policy.reregisterTimeout + m.policy.sweepInterval);
  const master = (await m.store.get<any>('master'))!.value;
  expect(master.recovery.state).toBe('held');
  return { m, agents };
}

/** Every item in the store, keys sorted, with versions: equal dumps mean nothing was written. */
export async function dump(store: Store): Promise<Item<unknown>[]> {
  const items: Item<unknown>[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list<unknown>('', { ...(cursor ? { cursor } : {}), limit: 1000 });
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export type Failure =
  | 'none'
  /** Every call throws, certainly not applied. */
  | 'unavailable'
  /** Reads work; every commit throws, certainly not applied. */
  | 'writes-unavailable'
  /** Commits are applied, then the answer is lost. */
  | 'applied-then-unknown'
  /** Commits are lost, and the caller cannot tell. */
  | 'lost-then-unknown';

/** Wraps a store so that its calls can be made to fail, as a backend in trouble does. */
export function faultyStore(inner: Store): Store & { failure: Failure; commits: number; listsBeforeFailure?: number } {
  const down = () => new StoreUnavailableError('injected: the store is down');
  const faulty = {
    failure: 'none' as Failure,
    commits: 0,
    /** When set, this many more lists succeed and every later one fails. */
    listsBeforeFailure: undefined as number | undefined,
    async get<T>(key: string) {
      if (faulty.failure === 'unavailable') throw down();
      return inner.get<T>(key);
    },
    async list<T>(prefix: string, opts?: { cursor?: string; limit?: number }) {
      if (faulty.failure === 'unavailable') throw down();
      if (faulty.listsBeforeFailure !== undefined && faulty.listsBeforeFailure-- <= 0) throw down();
      return inner.list<T>(prefix, opts);
    },
    async commit(writes: Write[]) {
      faulty.commits++;
      switch (faulty.failure) {
        case 'unavailable':
        case 'writes-unavailable':
          throw down();
        case 'applied-then-unknown':
          await inner.commit(writes);
          throw new StoreUnavailableError('injected: applied, then timed out', { outcome: 'unknown' });
        case 'lost-then-unknown':
          throw new StoreUnavailableError('injected: timed out', { outcome: 'unknown' });
        default:
          return inner.commit(writes);
      }
    },
    close: () => inner.close(),
  };
  return faulty;
}

/** An error body as DESIGN.md promises it: `{ error, message }`. */
export function expectError(res: { status: number; body: any }, status: number, error: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ error, message: expect.any(String) });
  expect(res.body.message.length).toBeGreaterThan(0);
}
