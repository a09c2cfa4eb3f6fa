// Helpers for the semantics scenarios: agents that follow the protocol over the HTTP API, a loop
// that moves the fake clock with sweeps and heartbeats, and stores that let a test step between a
// commit and its answer.
import { expect } from 'vitest';
import { FakeClock } from '../../src/clock.ts';
import type { SweepReport } from '../../src/registrar.ts';
import type { AgentRecord, MasterRecord } from '../../src/registry/index.ts';
import type { Store, Version, Write } from '../../src/store.ts';
import { testMaster } from '../support/master.ts';

export type TestMaster = ReturnType<typeof testMaster>;
export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;

type Commit = () => Promise<Record<string, Version>>;

/** A store whose commits pass through `intercept`, which decides when, and whether, the real commit runs. */
export function interceptCommits(inner: Store, intercept: (writes: Write[], commit: Commit) => Promise<Record<string, Version>>): Store {
  return {
    get: <T>(key: string) => inner.get<T>(key),
    list: <T>(prefix: string, opts?: { cursor?: string; limit?: number }) => inner.list<T>(prefix, opts),
    commit: (writes) => intercept(writes, () => inner.commit(writes)),
    close: () => inner.close(),
  };
}

/** A fake clock whose sleeps let other work run, so a loop that sleeps on it cannot starve the test. */
export class YieldingClock extends FakeClock {
  override async sleep(ms: number): Promise<void> {
    this.advance(ms);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A store on a fake clock that counts scans, and whose pages can take time (a large registry, a slow store). */
export interface WorldStore extends Store {
  /** Time each listed page takes. */
  scanDelay: number;
  /** Runs once per listed page, before the page is read (another instance acting meanwhile). */
  duringScan?: () => Promise<void>;
  /** Pages listed so far. */
  lists: number;
}

export function worldStore(inner: Store, clock: FakeClock): WorldStore {
  const store: WorldStore = {
    scanDelay: 0,
    lists: 0,
    get: <T>(key: string) => inner.get<T>(key),
    async list<T>(prefix: string, opts?: { cursor?: string; limit?: number }) {
      store.lists++;
      // The slow pages are a large registry's agents; its few frameworks are one quick page.
      clock.advance(prefix.startsWith('frameworks/') ? 0 : store.scanDelay);
      await store.duringScan?.();
      return inner.list<T>(prefix, opts);
    },
    commit: (writes) => inner.commit(writes),
    close: () => inner.close(),
  };
  return store;
}

/** A promise a test opens when it chooses. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

export const isFencedCommit = (writes: Write[]) => writes.some((w) => w.key === 'master' && 'check' in w);
export const writesMaster = (writes: Write[]) => writes.some((w) => w.key === 'master' && 'put' in w);

let hosts = 0;

/** An agent that follows the protocol: heartbeats on its schedule, re-registers on 409, stops on 410. */
export class TestAgent {
  readonly id: string;
  readonly secret: string;
  epoch: number;
  /** When it heartbeats next. */
  nextAt: number;
  alive = true;
  /** Every status the master answered this agent, in order. */
  readonly statuses: number[] = [];
  readonly body: Record<string, unknown>;

  constructor(m: TestMaster, registered: { agentId: string; secret: string; epoch: number }, body: Record<string, unknown>) {
    this.id = registered.agentId;
    this.secret = registered.secret;
    this.epoch = registered.epoch;
    this.body = body;
    this.nextAt = m.clock.now() + m.policy.heartbeatInterval;
  }

  static async register(m: TestMaster, body: Record<string, unknown> = {}): Promise<TestAgent> {
    const full = { hostname: `host-${++hosts}`, ...body };
    const res = await m.api.register(full);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return new TestAgent(m, res.body, full);
  }

  async heartbeat(m: TestMaster, extra: Record<string, unknown> = {}) {
    const res = await m.api.heartbeat(this.id, this.secret, { epoch: this.epoch, ...extra });
    this.statuses.push(res.status);
    if (res.status === 410) this.alive = false;
    return res;
  }

  async reregister(m: TestMaster) {
    const res = await m.api.reregister(this.id, this.secret, this.body);
    this.statuses.push(res.status);
    if (res.status === 200) this.epoch = res.body.epoch;
    if (res.status === 410) this.alive = false;
    return res;
  }

  /** One scheduled heartbeat; on 409 it re-registers at once. */
  async beat(m: TestMaster) {
    this.nextAt = m.clock.now() + m.policy.heartbeatInterval;
    const res = await this.heartbeat(m);
    if (res.status !== 409) return res;
    const again = await this.reregister(m);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    return again;
  }
}

export interface RunOptions {
  /** Agents that keep heartbeating (dead ones are left out, or have alive = false). */
  agents?: TestAgent[];
  /** The instance that sweeps every sweepInterval; false for none. Defaults to `m`. */
  sweeper?: TestMaster | false;
}

/** Moves the clock second by second for `ms`, sweeping and heartbeating on schedule; returns the sweeps' reports. */
export async function run(m: TestMaster, ms: number, opts: RunOptions = {}): Promise<SweepReport[]> {
  const sweeper = opts.sweeper === undefined ? m : opts.sweeper;
  const reports: SweepReport[] = [];
  const end = m.clock.now() + ms;
  // Sweeps keep their cadence across calls: the next one is due sweepInterval after the last one, by anyone.
  let lastSweep = (await m.store.get<MasterRecord>('master'))?.value.lastSweepAt ?? m.clock.now();
  while (m.clock.now() < end) {
    m.clock.advance(Math.min(SECOND, end - m.clock.now()));
    for (const agent of opts.agents ?? []) {
      if (agent.alive && m.clock.now() >= agent.nextAt) await agent.beat(m);
    }
    if (sweeper && m.clock.now() - lastSweep >= m.policy.sweepInterval) {
      lastSweep = m.clock.now();
      reports.push(await sweeper.sweep());
    }
  }
  return reports;
}

/** The next scheduled sweep: the clock moves on to when it is due (an earlier one would skip its scan). */
export async function nextSweep(m: TestMaster): Promise<SweepReport> {
  const due = (await masterRecord(m)).lastSweepAt + m.policy.sweepInterval;
  if (m.clock.now() < due) m.clock.set(due);
  return m.sweep();
}

export const marked = (reports: SweepReport[]) => reports.flatMap((r) => r.marked);

export async function record(m: TestMaster, id: string): Promise<AgentRecord | undefined> {
  return (await m.store.get<AgentRecord>(`agents/${id}`))?.value;
}

export async function masterRecord(m: TestMaster): Promise<MasterRecord> {
  const item = await m.store.get<MasterRecord>('master');
  if (!item) throw new Error('no master record');
  return item.value;
}

/** A master whose first sweep has run, with `n` agents registered. */
export async function started(n: number, opts: Parameters<typeof testMaster>[0] = {}) {
  const m = testMaster(opts);
  expect((await m.sweep()).step).toBe('first-start');
  const agents: TestAgent[] = [];
  for (let i = 0; i < n; i++) agents.push(await TestAgent.register(m));
  return { m, agents };
}
