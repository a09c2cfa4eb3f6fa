// Pure transitions of the `master` record (DESIGN.md, Semantics 3, 4, 12): the sweeper's lease
// renewal, new epochs, the liveness floor, and an operator's release of a hold.
import { refuse, type Hold, type MasterRecord, type Policy, type Recovery, type Refusal } from './types.ts';

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

/**
 * Start-up refuses an agent timeout that a store outage shorter than the gap test could exhaust: such
 * an outage raises no floor, so an agent's slack must cover it, its heartbeat interval and the skew.
 */
export function timeoutProblem(p: Pick<Policy, 'agentTimeout' | 'sweepInterval' | 'heartbeatInterval' | 'maxClockSkew'>): string | undefined {
  const minimum = 2 * p.sweepInterval + p.heartbeatInterval + 2 * p.maxClockSkew;
  return p.agentTimeout <= minimum
    ? `the agent timeout (${p.agentTimeout}ms) must be longer than 2 × sweep interval + heartbeat interval + 2 × max clock skew (${minimum}ms)`
    : undefined;
}

/** The gap test (rule 3): sweeps that started this far apart left agents unserved. */
export const gapLength = (p: Pick<Policy, 'sweepInterval' | 'maxClockSkew'>) => 2 * p.sweepInterval + p.maxClockSkew;

/** A sweep started less than half an interval ago: this one skips its scan (rule 3). */
export const sweptRecently = (m: MasterRecord, now: number, p: Pick<Policy, 'sweepInterval' | 'maxClockSkew'>) =>
  !leaseLapsed(m, now, p) && now - m.lastSweepAt < p.sweepInterval / 2;

/** The lease has lapsed by more than the skew: no master was serving (rule 3). */
export const leaseLapsed = (m: MasterRecord, now: number, p: Pick<Policy, 'maxClockSkew'>) => now > m.leaseExpiresAt + p.maxClockSkew;

/** The last moment a sweeper holding this version may act (rule 6). */
export const actBefore = (m: MasterRecord, p: Pick<Policy, 'maxClockSkew'>) => m.leaseExpiresAt - p.maxClockSkew;

/** Whether the re-registration window is open. */
export const windowOpen = (m: MasterRecord, now: number) =>
  m.recovery.state !== 'done' && m.recovery.deadline !== undefined && now < m.recovery.deadline;

/** The hold over missed-window agents (a record written before holds were split counts as one). */
export const windowHoldOf = (r: Recovery): Hold | undefined =>
  r.windowHold ?? (r.state === 'held' && !r.livenessHold ? { reason: r.heldReason ?? 'held', since: 0 } : undefined);

/** The visible state and reason follow from the window and the two holds. */
export function settleRecovery(r: Recovery, holds: Pick<Recovery, 'windowHold' | 'livenessHold'>, open: boolean): Recovery {
  const { heldReason: _old, windowHold: _w, livenessHold: _l, ...rest } = r;
  const { windowHold, livenessHold } = holds;
  const reasons = [windowHold, livenessHold].flatMap((h) => (h ? [h.reason] : []));
  return {
    ...rest,
    state: reasons.length > 0 ? 'held' : open ? 'recovering' : 'done',
    ...(reasons.length > 0 ? { heldReason: reasons.join('; ') } : {}),
    ...(windowHold ? { windowHold } : {}),
    ...(livenessHold ? { livenessHold } : {}),
  };
}

/**
 * The sweep's write to `master`. `admitted` is the number of admitted agents now, the base of the
 * limit when a window opens; undefined when the sweep did not scan, and the first scan after counts
 * it (sweep.ts). A new epoch is derived from the clock, so it is greater than any ever
 * issued even after a backup is restored. `highestEpoch` is the highest epoch any agent record
 * holds: a first start over agents (a registry restored without its master record) never reuses it.
 */
export function renewLease(current: MasterRecord | undefined, admitted: number | undefined, now: number, p: Policy, highestEpoch = 0): LeaseRenewal {
  const lease = { leaseExpiresAt: now + p.masterLease, lastSweepAt: now };
  if (!current) {
    const recovery = admitted === 0
      ? { state: 'done' as const }
      : { state: 'recovering' as const, deadline: now + p.reregisterTimeout, ...(admitted === undefined ? {} : { admittedAtOpen: admitted }) };
    const epoch = highestEpoch === 0 ? 1 : Math.max(now, highestEpoch + 1);
    return { step: 'first-start', master: { epoch, ...lease, livenessFloor: now, recovery, startedAt: now } };
  }
  if (leaseLapsed(current, now, p)) {
    const windowHold = windowHoldOf(current.recovery);
    // A hold survives new epochs (its base too). A window opens even with nobody admitted: an agent
    // registering while this epoch starts is recorded in the old one and needs the window to re-register.
    // A liveness hold ends: the agents it held are now pending in the new window.
    const deadline = now + p.reregisterTimeout;
    const recovery = windowHold
      ? settleRecovery({ ...current.recovery, deadline }, { windowHold }, true)
      : settleRecovery({ state: 'recovering', deadline, ...(admitted === undefined ? {} : { admittedAtOpen: admitted }) }, {}, true);
    const { markBudget: _reset, ...rest } = current;
    return {
      step: 'new-epoch',
      master: { ...rest, epoch: Math.max(current.epoch + 1, now), ...lease, livenessFloor: now, recovery, startedAt: now },
    };
  }
  // Silence during a gap between sweep starts is never held against agents: neither a heartbeat
  // (the floor) nor a re-registration that fell due in it (an open window gets an agent's slack again).
  const gap = now - current.lastSweepAt > gapLength(p);
  if (!gap) return { step: 'renewed', master: { ...current, ...lease } };
  const r = current.recovery;
  const wasOpen = r.state !== 'done' && r.deadline !== undefined && r.deadline > current.lastSweepAt;
  const recovery = wasOpen ? { ...r, deadline: Math.max(r.deadline!, now + p.agentTimeout) } : r;
  return { step: 'gap', master: { ...current, ...lease, livenessFloor: now, recovery } };
}

/** An operator releases every hold: agents overdue by now are marked by the next sweep without the guard. */
export function releaseHold(current: MasterRecord, now: number, actor: { by: string; reason?: string }): MasterRecord | Refusal {
  if (current.recovery.state !== 'held') return refuse('not-held', 'marking is not held');
  const { releaseReason: _previous, ...rest } = current.recovery;
  const reason = actor.reason ? { releaseReason: actor.reason } : {};
  const recovery = settleRecovery({ ...rest, releasedAt: now, releasedBy: actor.by, ...reason }, {}, windowOpen(current, now));
  return { ...current, recovery };
}
