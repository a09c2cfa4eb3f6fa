// Pure transitions of the `master` record (DESIGN.md, Semantics 3, 4, 12): the sweeper's lease
// renewal, new epochs, the liveness floor, and an operator's release of a hold.
import { refuse, type MasterRecord, type Policy, type Refusal } from './types.ts';

export type LeaseStep = 'first-start' | 'new-epoch' | 'gap' | 'renewed';

export interface LeaseRenewal {
  master: MasterRecord;
  step: LeaseStep;
}

/** Start-up refuses a lease that the sweeps cannot keep alive (rule 3). */
export function leaseProblem(p: Pick<Policy, 'masterLease' | 'sweepInterval' | 'maxClockSkew'>): string | undefined {
  const minimum = 2 * p.sweepInterval + p.maxClockSkew;
  return p.masterLease < minimum
    ? `the master lease (${p.masterLease}ms) must be at least 2 × sweep interval + max clock skew (${minimum}ms)`
    : undefined;
}

/** The lease has lapsed by more than the skew: no master was serving (rule 3). */
export const leaseLapsed = (m: MasterRecord, now: number, p: Pick<Policy, 'maxClockSkew'>) => now > m.leaseExpiresAt + p.maxClockSkew;

/** The last moment a sweeper holding this version may act (rule 6). */
export const actBefore = (m: MasterRecord, p: Pick<Policy, 'maxClockSkew'>) => m.leaseExpiresAt - p.maxClockSkew;

/** Whether the re-registration window is open. */
export const windowOpen = (m: MasterRecord, now: number) =>
  m.recovery.state !== 'done' && m.recovery.deadline !== undefined && now < m.recovery.deadline;

/**
 * The sweep's write to `master`. `admitted` is the number of admitted agents now, the base of the
 * limit when a window opens. A new epoch is derived from the clock, so it is greater than any ever
 * issued even after a backup is restored. `highestEpoch` is the highest epoch any agent record
 * holds: a first start over agents (a registry restored without its master record) never reuses it.
 */
export function renewLease(current: MasterRecord | undefined, admitted: number, now: number, p: Policy, highestEpoch = 0): LeaseRenewal {
  const lease = { leaseExpiresAt: now + p.masterLease, lastSweepAt: now };
  if (!current) {
    const recovery = admitted === 0
      ? { state: 'done' as const }
      : { state: 'recovering' as const, deadline: now + p.reregisterTimeout, admittedAtOpen: admitted };
    const epoch = highestEpoch === 0 ? 1 : Math.max(now, highestEpoch + 1);
    return { step: 'first-start', master: { epoch, ...lease, livenessFloor: now, recovery, startedAt: now } };
  }
  if (leaseLapsed(current, now, p)) {
    const held = current.recovery.state === 'held';
    // A hold survives new epochs. A window opens even with nobody admitted: an agent registering
    // while this epoch starts is recorded in the old one and needs the window to re-register.
    const recovery = held
      ? { ...current.recovery, deadline: now + p.reregisterTimeout }
      : { state: 'recovering' as const, deadline: now + p.reregisterTimeout, admittedAtOpen: admitted };
    const { markBudget: _reset, ...rest } = current;
    return {
      step: 'new-epoch',
      master: { ...rest, epoch: Math.max(current.epoch + 1, now), ...lease, livenessFloor: now, recovery, startedAt: now },
    };
  }
  // Silence during a gap between sweeps is never held against agents.
  const gap = now - current.lastSweepAt > 2 * p.sweepInterval + p.maxClockSkew;
  return {
    step: gap ? 'gap' : 'renewed',
    master: { ...current, ...lease, livenessFloor: gap ? now : current.livenessFloor },
  };
}

/** An operator releases a hold: agents overdue by now are marked by the next sweep without the guard. */
export function releaseHold(current: MasterRecord, now: number, actor: { by: string; reason?: string }): MasterRecord | Refusal {
  if (current.recovery.state !== 'held') return refuse('not-held', 'marking is not held');
  const { heldReason: _cleared, ...recovery } = current.recovery;
  const state = windowOpen(current, now) ? 'recovering' : 'done';
  const { releaseReason: _previous, ...rest } = recovery;
  const reason = actor.reason ? { releaseReason: actor.reason } : {};
  return { ...current, recovery: { ...rest, state, releasedAt: now, releasedBy: actor.by, ...reason } };
}
