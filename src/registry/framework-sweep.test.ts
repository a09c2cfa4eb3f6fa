import { describe, expect, it } from 'vitest';
import { POLICY, S, T0, servingMaster } from '../../test/support/registry.ts';
import { registerFramework, teardownFramework, type FrameworkRecord } from './framework.ts';
import { failoverEndsAt, planFrameworkPrune, planFrameworkSweep, summarizeFramework, type FrameworkSummary } from './framework-sweep.ts';
import type { MasterRecord } from './types.ts';

const EPOCH = 5;
const p = POLICY;
/** How long a framework of the current epoch may be silent: the agents' rule 2. */
const SILENCE = p.agentTimeout + p.livenessGranularity;

const master = (over: Partial<MasterRecord> = {}): MasterRecord => servingMaster(T0, { epoch: EPOCH, ...over });
const framework = (id: string, lastSeenAt: number, over: Partial<FrameworkRecord> = {}): FrameworkSummary =>
  summarizeFramework({
    ...registerFramework({ id, info: { name: id }, failoverTimeoutSeconds: 0, secretHash: 'h', epoch: EPOCH, now: lastSeenAt, by: 'frameworks' }),
    ...over,
  });
const verdicts = (m: MasterRecord, fs: FrameworkSummary[], now: number) => planFrameworkSweep(m, fs, now, p).verdicts.map((v) => `${v.id}:${v.to}`);

describe('silent frameworks (rule 2)', () => {
  it('disconnects an active framework only after max(lastSeenAt, floor) + agentTimeout + granularity', () => {
    const seen = T0 - 200 * S;
    const fs = [framework('f', seen)];
    expect(verdicts(master(), fs, seen + SILENCE)).toEqual([]);
    expect(verdicts(master(), fs, seen + SILENCE + 1)).toEqual(['f:disconnected']);
    const plan = planFrameworkSweep(master(), fs, seen + SILENCE + 1, p);
    expect(plan.verdicts[0]!.reason).toMatch(/no heartbeat since/);
    expect(plan.counts).toEqual({ active: 0, disconnected: 1, completed: 0 });
  });

  it('never holds silence during a gap against a framework (the liveness floor)', () => {
    const seen = T0 - 200 * S;
    const floor = T0 - 10 * S;
    expect(verdicts(master({ livenessFloor: floor }), [framework('f', seen)], seen + SILENCE + 1)).toEqual([]);
    expect(verdicts(master({ livenessFloor: floor }), [framework('f', seen)], floor + SILENCE + 1)).toEqual(['f:disconnected']);
  });

  it('disconnects nobody while marking is held (the agents’ guard covers frameworks)', () => {
    const held = master({ recovery: { state: 'held', heldReason: 'too many', livenessHold: { reason: 'too many', since: T0, recentMarks: 0 } } });
    const plan = planFrameworkSweep(held, [framework('f', T0 - 1000 * S)], T0, p);
    expect(plan.verdicts).toEqual([]);
    expect(plan.notes[0]).toMatch(/1 overdue frameworks wait: marking is held/);
  });
});

describe('failover timeout', () => {
  it('completes a disconnected framework once its failover timeout has passed (0 by default: the next sweep)', () => {
    const f0 = framework('f0', T0 - 500 * S, { status: 'disconnected', disconnectedAt: T0 - 10 * S });
    const f60 = framework('f60', T0 - 500 * S, { status: 'disconnected', disconnectedAt: T0 - 10 * S, failoverTimeoutSeconds: 60 });
    expect(verdicts(master(), [f0, f60], T0)).toEqual(['f0:completed']);
    expect(verdicts(master(), [f60], T0 + 50 * S - 1)).toEqual([]);
    expect(verdicts(master(), [f60], T0 + 50 * S)).toEqual(['f60:completed']);
  });

  it('counts the failover timeout from the last gap at the earliest', () => {
    const f = framework('f', T0 - 500 * S, { status: 'disconnected', disconnectedAt: T0 - 100 * S, failoverTimeoutSeconds: 60 });
    expect(failoverEndsAt(f, master({ livenessFloor: T0 }))).toBe(T0 + 60 * S);
  });

  it('completes frameworks even while marking is held: their verdict was already given', () => {
    const held = master({ recovery: { state: 'held', heldReason: 'x', livenessHold: { reason: 'x', since: T0, recentMarks: 0 } } });
    const f = framework('f', T0 - 500 * S, { status: 'disconnected', disconnectedAt: T0 - 10 * S });
    expect(verdicts(held, [f], T0)).toEqual(['f:completed']);
  });
});

describe('after a new epoch (rule 4)', () => {
  const deadline = T0 + p.reregisterTimeout;
  const recovering = master({ epoch: EPOCH + 1, startedAt: T0, livenessFloor: T0, recovery: { state: 'recovering', deadline, admittedAtOpen: 0 } });

  it('a framework of the older epoch waits for the window, then is disconnected, then completed after its failover timeout', () => {
    const f = framework('f', T0 - 1000 * S, { failoverTimeoutSeconds: 30 });
    expect(verdicts(recovering, [f], deadline - 1)).toEqual([]);
    const closed = { ...recovering, recovery: { state: 'done' as const, deadline, admittedAtOpen: 0 } };
    expect(verdicts(closed, [f], deadline + 1)).toEqual(['f:disconnected']);
    expect(planFrameworkSweep(closed, [f], deadline + 1, p).verdicts[0]!.reason).toMatch(/did not re-register within the window/);
    const down = { ...f, status: 'disconnected' as const, disconnectedAt: deadline + 1 };
    expect(verdicts(closed, [down], deadline + 30 * S)).toEqual([]);
    expect(verdicts(closed, [down], deadline + 1 + 30 * S)).toEqual(['f:completed']);
  });

  it('a framework disconnected before the failover keeps waiting for the window to close, then its failover timeout', () => {
    const down = framework('f', T0 - 1000 * S, { status: 'disconnected', disconnectedAt: T0 - 500 * S, failoverTimeoutSeconds: 30 });
    expect(verdicts(recovering, [down], deadline - 1)).toEqual([]);
    expect(failoverEndsAt(down, recovering)).toBe(deadline + 30 * S);
  });

  it('a framework that re-registered in the new epoch follows rule 2 meanwhile', () => {
    const f = framework('f', T0 + 10 * S, { epoch: EPOCH + 1 });
    expect(verdicts(recovering, [f], T0 + 10 * S + SILENCE + 1)).toEqual(['f:disconnected']);
  });
});

describe('prune (rule 14)', () => {
  it('prunes completed frameworks after the retention, and the oldest beyond the maximum', () => {
    const done = (id: string, at: number) => summarizeFramework(teardownFramework(
      registerFramework({ id, info: { name: id }, failoverTimeoutSeconds: 0, secretHash: 'h', epoch: EPOCH, now: at - S, by: 'x' }), at, { by: 'x' }));
    const old = done('old', T0 - p.registryRetention - 1);
    const recent = done('recent', T0 - 10 * S);
    const live = framework('live', T0);
    expect(planFrameworkPrune([old, recent, live], T0, p).map((f) => f.id)).toEqual(['old']);
    expect(planFrameworkPrune([recent, live], T0, { ...p, registryMaxEntries: 1 }).map((f) => f.id)).toEqual(['recent']);
    const plan = planFrameworkSweep(master(), [old, recent, live], T0, p);
    expect(plan.prune.map((f) => f.id)).toEqual(['old']);
    expect(plan.counts).toEqual({ active: 1, disconnected: 0, completed: 1 });
  });
});
