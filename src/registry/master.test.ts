import { describe, expect, it } from 'vitest';
import { actBefore, leaseLapsed, leaseProblem, releaseHold, renewLease, windowOpen } from './master.ts';
import { POLICY, S, T0, servingMaster } from '../../test/support/registry.ts';
import { isRefusal } from './types.ts';

const policy = POLICY;

const serving = servingMaster;

describe('first start (rule 12)', () => {
  it('with no agents: epoch 1, recovery done, lease from now', () => {
    const { step, master } = renewLease(undefined, 0, T0, policy);
    expect(step).toBe('first-start');
    expect(master).toEqual({
      epoch: 1,
      leaseExpiresAt: T0 + policy.masterLease,
      lastSweepAt: T0,
      livenessFloor: T0,
      recovery: { state: 'done' },
      startedAt: T0,
    });
  });

  it('with agents already in the registry: epoch 1 and a normal re-registration window', () => {
    const { step, master } = renewLease(undefined, 4, T0, policy);
    expect(step).toBe('first-start');
    expect(master.epoch).toBe(1);
    expect(master.recovery).toEqual({ state: 'recovering', deadline: T0 + policy.reregisterTimeout, admittedAtOpen: 4 });
    expect(windowOpen(master, T0 + policy.reregisterTimeout - 1)).toBe(true);
    expect(windowOpen(master, T0 + policy.reregisterTimeout)).toBe(false);
  });

  it('over a restored registry whose agents hold epochs: an epoch greater than any of theirs', () => {
    expect(renewLease(undefined, 4, T0, policy, 1).master.epoch).toBe(T0);
    expect(renewLease(undefined, 4, T0, policy, T0 + 5).master.epoch).toBe(T0 + 6);
  });
});

describe('lease renewal (rule 3)', () => {
  it('renews the lease and keeps the epoch and floor when sweeps are regular', () => {
    const m = serving(T0);
    const { step, master } = renewLease(m, 3, T0 + policy.sweepInterval, policy);
    expect(step).toBe('renewed');
    expect(master).toEqual({ ...m, leaseExpiresAt: T0 + policy.sweepInterval + policy.masterLease, lastSweepAt: T0 + policy.sweepInterval });
  });

  it('a lease lapsed by no more than the clock skew is renewed, not a new epoch', () => {
    const m = serving(T0);
    const now = m.leaseExpiresAt + policy.maxClockSkew;
    expect(leaseLapsed(m, now, policy)).toBe(false);
    const { step, master } = renewLease(m, 3, now, policy);
    expect(step).toBe('gap');
    expect(master.epoch).toBe(5);
  });

  it('a lease lapsed by more than the clock skew starts a new epoch derived from the clock', () => {
    const m = serving(T0);
    const now = m.leaseExpiresAt + policy.maxClockSkew + 1;
    expect(leaseLapsed(m, now, policy)).toBe(true);
    const { step, master } = renewLease(m, 3, now, policy);
    expect(step).toBe('new-epoch');
    expect(master.epoch).toBe(now);
    expect(master).toMatchObject({ leaseExpiresAt: now + policy.masterLease, lastSweepAt: now, livenessFloor: now, startedAt: now });
  });

  it('a new epoch is greater than the previous one even when the clock is behind it', () => {
    const m = serving(T0, { epoch: T0 * 2 }); // e.g. issued by a clock far ahead
    const now = m.leaseExpiresAt + policy.maxClockSkew + 1;
    expect(renewLease(m, 3, now, policy).master.epoch).toBe(T0 * 2 + 1);
  });

  it('a new epoch opens a re-registration window counting the admitted agents', () => {
    const m = serving(T0);
    const now = m.leaseExpiresAt + 60 * S;
    const { master } = renewLease(m, 7, now, policy);
    expect(master.recovery).toEqual({ state: 'recovering', deadline: now + policy.reregisterTimeout, admittedAtOpen: 7 });
  });

  it('a new epoch opens a window even with no agent admitted (one may be registering in the old epoch)', () => {
    const m = serving(T0);
    const now = m.leaseExpiresAt + 60 * S;
    expect(renewLease(m, 0, now, policy).master.recovery).toEqual({ state: 'recovering', deadline: now + policy.reregisterTimeout, admittedAtOpen: 0 });
  });

  it('a new epoch resets the rate-limit budget', () => {
    const m = serving(T0, { markBudget: { windowStart: T0, used: 9 } });
    expect(renewLease(m, 3, m.leaseExpiresAt + 60 * S, policy).master.markBudget).toBeUndefined();
  });

  it('a hold survives a new epoch, with a fresh window deadline', () => {
    const held = { state: 'held' as const, deadline: T0 - 1, admittedAtOpen: 10, heldReason: 'too many' };
    const m = serving(T0, { recovery: held });
    const now = m.leaseExpiresAt + 60 * S;
    const { step, master } = renewLease(m, 10, now, policy);
    expect(step).toBe('new-epoch');
    expect(master.recovery).toEqual({ ...held, deadline: now + policy.reregisterTimeout, windowHold: { reason: 'too many', since: 0 } });
  });

  it('a gap between sweeps longer than 2 × sweep interval + skew raises the liveness floor', () => {
    const m = serving(T0);
    const now = T0 + 2 * policy.sweepInterval + policy.maxClockSkew + 1;
    const { step, master } = renewLease(m, 3, now, policy);
    expect(step).toBe('gap');
    expect(master).toMatchObject({ epoch: 5, livenessFloor: now, lastSweepAt: now, leaseExpiresAt: now + policy.masterLease });
  });

  it('a gap of exactly 2 × sweep interval + skew is no gap', () => {
    const m = serving(T0);
    const { step, master } = renewLease(m, 3, T0 + 2 * policy.sweepInterval + policy.maxClockSkew, policy);
    expect(step).toBe('renewed');
    expect(master.livenessFloor).toBe(m.livenessFloor);
  });

  it('renewal keeps an open window and its deadline', () => {
    const recovery = { state: 'recovering' as const, deadline: T0 + 100 * S, admittedAtOpen: 3 };
    const { master } = renewLease(serving(T0, { recovery }), 3, T0 + policy.sweepInterval, policy);
    expect(master.recovery).toEqual(recovery);
  });

  it('a gap gives an open window at least an agent timeout from now; a closed one stays closed', () => {
    const gapAt = T0 + 2 * policy.sweepInterval + policy.maxClockSkew + 1;
    const open = { state: 'recovering' as const, deadline: T0 + S, admittedAtOpen: 3 };
    expect(renewLease(serving(T0, { recovery: open }), 3, gapAt, policy).master.recovery).toEqual({ ...open, deadline: gapAt + policy.agentTimeout });
    const long = { ...open, deadline: gapAt + 100 * policy.agentTimeout };
    expect(renewLease(serving(T0, { recovery: long }), 3, gapAt, policy).master.recovery).toEqual(long);
    const closed = { state: 'held' as const, deadline: T0 - 1, admittedAtOpen: 10, heldReason: 'too many' };
    expect(renewLease(serving(T0, { recovery: closed }), 3, gapAt, policy).master.recovery).toEqual(closed);
  });
});

describe('leaseProblem (rule 3)', () => {
  it('refuses a lease shorter than 2 × sweep interval + max clock skew', () => {
    expect(leaseProblem({ masterLease: 11_999, sweepInterval: 5_000, maxClockSkew: 2_000 })).toMatch(/at least/);
  });
  it('accepts a lease of exactly the minimum, and the defaults', () => {
    expect(leaseProblem({ masterLease: 12_000, sweepInterval: 5_000, maxClockSkew: 2_000 })).toBeUndefined();
    expect(leaseProblem(policy)).toBeUndefined();
    expect(leaseProblem({ masterLease: 150_000, sweepInterval: 60_000, maxClockSkew: 2_000 })).toBeUndefined(); // Lambda
  });
});

describe('fencing time (rule 6)', () => {
  it('a sweeper may act only before leaseExpiresAt − maxClockSkew', () => {
    expect(actBefore(serving(T0), policy)).toBe(T0 + policy.masterLease - policy.maxClockSkew);
  });
});

describe('release of a hold (rule 4)', () => {
  it('refuses when nothing is held', () => {
    const r = releaseHold(serving(T0), T0, { by: 'alice' });
    expect(isRefusal(r) && r.refused).toBe('not-held');
  });

  it('after the window: done, with who released it and when', () => {
    const m = serving(T0, { recovery: { state: 'held', deadline: T0 - 1, admittedAtOpen: 10, heldReason: 'too many' } });
    const r = releaseHold(m, T0 + 1, { by: 'alice', reason: 'rack r7 is gone for good' });
    if (isRefusal(r)) throw new Error(r.message);
    expect(r.recovery).toEqual({ state: 'done', deadline: T0 - 1, admittedAtOpen: 10, releasedAt: T0 + 1, releasedBy: 'alice', releaseReason: 'rack r7 is gone for good' });
    expect(r.epoch).toBe(m.epoch);
    expect(r.leaseExpiresAt).toBe(m.leaseExpiresAt); // not a lease renewal
  });

  it('inside an open window: back to recovering', () => {
    const m = serving(T0, { recovery: { state: 'held', deadline: T0 + 100 * S, admittedAtOpen: 10, heldReason: 'too many' } });
    const r = releaseHold(m, T0 + 1, { by: 'alice' });
    if (isRefusal(r)) throw new Error(r.message);
    expect(r.recovery.state).toBe('recovering');
    expect(r.recovery.heldReason).toBeUndefined();
  });
});
