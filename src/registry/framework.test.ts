import { describe, expect, it } from 'vitest';
import {
  acceptFrameworkHeartbeat, markCompleted, markDisconnected, registerExistingFramework, registerFramework, reregisterFramework,
  selfTeardownAllowed, teardownFramework, type FrameworkInfo, type FrameworkRecord,
} from './framework.ts';
import { EVENTS_KEPT, isRefusal, type Refusal } from './types.ts';

const T0 = 1_000_000;
const S = 1_000;
const policy = { livenessGranularity: 60 * S };
const info: FrameworkInfo = { name: 'marathon', user: 'root', roles: ['web'], capabilities: ['MULTI_ROLE'] };

const active = (over: Partial<FrameworkRecord> = {}): FrameworkRecord => ({
  ...registerFramework({ id: 'fw-1', info, failoverTimeoutSeconds: 60, secretHash: 'sha256:x', epoch: 7, now: T0, by: 'frameworks' }),
  ...over,
});

function refusal(x: FrameworkRecord | Refusal | true): Refusal {
  if (!isRefusal(x)) throw new Error(`expected a refusal, got ${JSON.stringify(x)}`);
  return x;
}
function record(x: FrameworkRecord | Refusal): FrameworkRecord {
  if (isRefusal(x)) throw new Error(`expected a record, got refusal ${x.refused}: ${x.message}`);
  return x;
}

describe('register', () => {
  it('records a new framework active in the current epoch, seen now, with its failover timeout and an event', () => {
    const r = active();
    expect(r).toMatchObject({ id: 'fw-1', info, status: 'active', epoch: 7, registeredAt: T0, lastSeenAt: T0, failoverTimeoutSeconds: 60, secretHash: 'sha256:x' });
    expect(r.disconnectedAt).toBeUndefined();
    expect(r.completedAt).toBeUndefined();
    expect(r.events).toEqual([{ at: T0, type: 'registered', by: 'frameworks' }]);
  });

  it('a retry of the same registration in the same epoch changes nothing', () => {
    const r = active();
    expect(registerExistingFramework(r, { info, failoverTimeoutSeconds: 60, epoch: 7, now: T0 + S, by: 'frameworks' })).toBe(r);
  });

  it('a registration naming a known framework in a new epoch (or with new info) re-registers it', () => {
    const r = record(registerExistingFramework(active(), { info, epoch: 8, now: T0 + S, by: 'frameworks' }));
    expect(r).toMatchObject({ status: 'active', epoch: 8, lastSeenAt: T0 + S });
    const renamed = record(registerExistingFramework(active(), { info: { name: 'marathon-2' }, epoch: 7, now: T0 + S, by: 'frameworks' }));
    expect(renamed.info).toEqual({ name: 'marathon-2' });
  });

  it('a registration naming a completed framework is refused: completed is final', () => {
    const done = teardownFramework(active(), T0 + S, { by: 'alice' });
    expect(refusal(registerExistingFramework(done, { info, epoch: 7, now: T0 + 2 * S, by: 'frameworks' })).refused).toBe('gone');
  });
});

describe('re-register', () => {
  it('joins the current epoch again after a master failover, keeping its id and info', () => {
    const r = record(reregisterFramework(active(), { epoch: 9, now: T0 + 100 * S, by: 'fw-1' }));
    expect(r).toMatchObject({ id: 'fw-1', status: 'active', epoch: 9, lastSeenAt: T0 + 100 * S, info, registeredAt: T0 });
    expect(r.events.at(-1)).toEqual({ at: T0 + 100 * S, type: 'reregistered', by: 'fw-1' });
  });

  it('a disconnected framework re-registering within its failover timeout is active again (reconnected)', () => {
    const down = markDisconnected(active(), T0 + 200 * S, { by: 'master', reason: 'silent' });
    const r = record(reregisterFramework(down, { epoch: 7, now: T0 + 210 * S, by: 'fw-1' }));
    expect(r.status).toBe('active');
    expect(r.disconnectedAt).toBeUndefined();
    expect(r.events.at(-1)?.type).toBe('reconnected');
  });

  it('a new scheduler instance taking over rotates the secret and may change info and failover timeout', () => {
    const r = record(reregisterFramework(active(), { info: { name: 'marathon', hostname: 'm2' }, failoverTimeoutSeconds: 600, secretHash: 'sha256:new', epoch: 7, now: T0 + S, by: 'fw-1' }));
    expect(r).toMatchObject({ secretHash: 'sha256:new', failoverTimeoutSeconds: 600, info: { name: 'marathon', hostname: 'm2' } });
    expect(r.events.at(-1)?.reason).toMatch(/new scheduler instance took over/);
  });

  it('a completed framework cannot re-register (410)', () => {
    const done = markCompleted(markDisconnected(active(), T0 + S, { by: 'master' }), T0 + 2 * S, { by: 'master' });
    expect(refusal(reregisterFramework(done, { epoch: 7, now: T0 + 3 * S, by: 'fw-1' })).refused).toBe('gone');
  });
});

describe('heartbeat', () => {
  const hb = (now: number, epoch = 7, masterEpoch = 7) => ({ epoch, masterEpoch, now });

  it('writes lastSeenAt at most once per granularity: a heartbeat within it returns the same record', () => {
    const r = active();
    expect(acceptFrameworkHeartbeat(r, hb(T0 + 30 * S), policy)).toBe(r);
    expect(record(acceptFrameworkHeartbeat(r, hb(T0 + 60 * S), policy)).lastSeenAt).toBe(T0 + 60 * S);
  });

  it('asks a framework of another epoch to re-register (409) with the current epoch', () => {
    expect(refusal(acceptFrameworkHeartbeat(active(), hb(T0 + S, 7, 8), policy))).toMatchObject({ refused: 'reregister', epoch: 8 });
    expect(refusal(acceptFrameworkHeartbeat(active(), hb(T0 + S, 6, 7), policy))).toMatchObject({ refused: 'reregister', epoch: 7 });
  });

  it('asks a disconnected framework to re-register, and tells a completed one it is gone (410)', () => {
    const down = markDisconnected(active(), T0 + S, { by: 'master' });
    expect(refusal(acceptFrameworkHeartbeat(down, hb(T0 + 2 * S), policy)).refused).toBe('reregister');
    const done = teardownFramework(active(), T0 + S, { by: 'fw-1' });
    expect(refusal(acceptFrameworkHeartbeat(done, hb(T0 + 2 * S), policy)).refused).toBe('gone');
  });
});

describe('teardown', () => {
  it('completes the framework with the actor and reason; idempotent', () => {
    const done = teardownFramework(active(), T0 + S, { by: 'alice', reason: 'retired' });
    expect(done).toMatchObject({ status: 'completed', completedAt: T0 + S });
    expect(done.events.at(-1)).toEqual({ at: T0 + S, type: 'teardown', by: 'alice', reason: 'retired' });
    expect(teardownFramework(done, T0 + 2 * S, { by: 'bob' })).toBe(done);
  });

  it('a framework may tear itself down only once: then it is told it is completed (410)', () => {
    expect(selfTeardownAllowed(active())).toBe(true);
    expect(refusal(selfTeardownAllowed(teardownFramework(active(), T0, { by: 'fw-1' }))).refused).toBe('gone');
  });
});

describe('the sweeper’s verdicts', () => {
  it('marks an active framework disconnected, then a disconnected one completed; each only from the state before', () => {
    const down = markDisconnected(active(), T0 + S, { by: 'master', reason: 'no heartbeat' });
    expect(down).toMatchObject({ status: 'disconnected', disconnectedAt: T0 + S });
    expect(down.events.at(-1)).toEqual({ at: T0 + S, type: 'disconnected', by: 'master', reason: 'no heartbeat' });
    expect(markDisconnected(down, T0 + 2 * S, { by: 'master' })).toBe(down);
    expect(markCompleted(active(), T0, { by: 'master' })).toMatchObject({ status: 'active' });
    const done = markCompleted(down, T0 + 2 * S, { by: 'master' });
    expect(done).toMatchObject({ status: 'completed', completedAt: T0 + 2 * S, disconnectedAt: T0 + S });
    expect(markCompleted(done, T0 + 3 * S, { by: 'master' })).toBe(done);
  });

  it('keeps only the last events', () => {
    let r = active();
    for (let i = 0; i < 20; i++) r = record(reregisterFramework(r, { epoch: 7 + i, now: T0 + i, by: 'fw-1' }));
    expect(r.events).toHaveLength(EVENTS_KEPT);
  });
});
