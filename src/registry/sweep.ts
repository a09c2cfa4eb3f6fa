// The sweeper's decisions (DESIGN.md, Semantics 2–6, 10, 14) as one pure function of the registry
// and the time: which master record to write, which agents to mark unreachable, which to prune.
import { markUnreachable } from './agent.ts';
import { gapLength, leaseLapsed, renewLease, settleRecovery, windowHoldOf, windowOpen, type LeaseRenewal, type LeaseStep } from './master.ts';
import type { AgentRecord, MarkBudget, MasterRecord, Policy } from './types.ts';

/**
 * What judging an agent needs: a sweep keeps only this of each record, so that its memory stays
 * small on a large registry (a Durable Object has 128 MB).
 */
export type AgentSummary = Pick<AgentRecord, 'id' | 'status' | 'epoch' | 'lastSeenAt' | 'unreachableAt' | 'goneAt'> & {
  /**
   * When the agent was last admitted (registered, or reachable again), to count a window's base after
   * it opened. `summarize` sets it; where a whole record stands for its summary, it counts as admitted all along.
   */
  admittedAt?: number;
};

export const summarize = (record: AgentRecord): AgentSummary => {
  const { id, status, epoch, lastSeenAt, unreachableAt, goneAt } = record;
  return {
    id, status, epoch, lastSeenAt, admittedAt: lastAdmission(record),
    ...(unreachableAt === undefined ? {} : { unreachableAt }),
    ...(goneAt === undefined ? {} : { goneAt }),
  };
};

/** The last admission among the events kept; an agent whose events no longer show one was admitted when it registered. */
function lastAdmission(record: AgentRecord): number {
  for (let i = record.events.length - 1; i >= 0; i--) {
    const e = record.events[i]!;
    if (e.type === 'admitted' || e.type === 'reachable') return e.at;
  }
  return record.registeredAt;
}

/** Whether an agent, as scanned now, was admitted at the earlier moment `at`. */
export const wasAdmittedAt = (a: AgentSummary, at: number) =>
  (a.admittedAt ?? -Infinity) <= at && (a.status === 'admitted' || (a.unreachableAt ?? a.goneAt ?? at) > at);

/** A verdict of the sweep: this agent is to be marked unreachable, for this reason. */
export interface Mark {
  id: string;
  reason: string;
}

/** The record a mark makes of the agent's record (as read again by the sweeper). */
export const applyMark = (record: AgentRecord, mark: Mark, now: number): AgentRecord =>
  markUnreachable(record, now, { by: 'master', reason: mark.reason });

export interface SweepPlan {
  step: LeaseStep;
  /** To write first, expecting the version read: it carries the lease and any hold. */
  master: MasterRecord;
  /** Agents to mark unreachable, oldest lastSeenAt first. */
  marks: Mark[];
  /** Records to delete (rule 14). */
  prune: AgentSummary[];
  /** What happened, for the log. */
  notes: string[];
}

export interface Overdue {
  agent: AgentSummary;
  /** When the agent became markable. */
  since: number;
  /** It missed a re-registration window (as opposed to going silent in this epoch). */
  missedWindow: boolean;
}

/**
 * Admitted agents the rules allow marking now, ignoring the guard and the rate limit: silent ones in
 * this epoch (rule 2), and agents of an older epoch once no window is open (rule 4).
 */
export function overdueAgents(master: MasterRecord, agents: AgentSummary[], now: number, p: Policy): Overdue[] {
  const open = windowOpen(master, now);
  const overdue: Overdue[] = [];
  for (const agent of agents) {
    if (agent.status !== 'admitted') continue;
    if (agent.epoch !== master.epoch) {
      if (!open) overdue.push({ agent, since: master.recovery.deadline ?? master.startedAt, missedWindow: true });
      continue;
    }
    // lastSeenAt is written at most once per granularity, so the agent may have been seen that much later.
    const since = Math.max(agent.lastSeenAt, master.livenessFloor) + p.agentTimeout + p.livenessGranularity;
    if (since < now) overdue.push({ agent, since, missedWindow: false });
  }
  return overdue.sort((a, b) => a.agent.lastSeenAt - b.agent.lastSeenAt || a.since - b.since);
}

/** Agents not yet re-registered in an open or held window (the API's `pending=true`). */
export const isPending = (master: Pick<MasterRecord, 'epoch' | 'recovery'>, agent: AgentSummary) =>
  agent.status === 'admitted' && agent.epoch !== master.epoch && master.recovery.state !== 'done';

/** The guard of rule 4: too many at once looks like an outage, not mass death. */
export function guardTrips(missing: number, base: number, p: Policy): boolean {
  return missing > p.recoveryUnreachableLimit * base && missing >= p.recoveryUnreachableMinimum;
}

/**
 * The period over which the liveness guard counts marks: silent agents' deadlines spread over a
 * granularity (when each last wrote lastSeenAt), a heartbeat interval and a sweep interval.
 */
export const trailingPeriod = (p: Pick<Policy, 'livenessGranularity' | 'heartbeatInterval' | 'sweepInterval'>) =>
  p.livenessGranularity + p.heartbeatInterval + p.sweepInterval;

const limitText = (p: Policy) => `limit ${Math.round(p.recoveryUnreachableLimit * 100)}%, minimum ${p.recoveryUnreachableMinimum}`;

/** What a renewal did, for the log. */
function leaseNotes({ step, master }: LeaseRenewal): string[] {
  if (step === 'first-start') return [`first start: epoch ${master.epoch}`];
  if (step === 'new-epoch') return [`lease had lapsed: new epoch ${master.epoch}, re-registration window until ${master.recovery.deadline ?? 'now'}`];
  if (step === 'gap') return ['a gap between sweeps: liveness floor raised'];
  return [];
}

/**
 * A sweep that starts a new epoch reads no agent when the window it opens is open: every agent then
 * holds an older epoch, so nothing can be marked until the window closes. The epoch's first scan, a
 * sweep later, counts the base of rule 4's limit as it was when the window opened (`withWindowBase`)
 * and prunes what is due. So a cold start over a large registry serves at once (issue 13).
 */
export const startsEpochWithoutScan = (m: MasterRecord, now: number, p: Policy) => leaseLapsed(m, now, p) && p.reregisterTimeout > 0;

/** The new epoch's write to `master`, without a scan: counts stay as the last scan left them, and all admitted agents are pending. */
export function planNewEpoch(current: MasterRecord, now: number, p: Policy): SweepPlan {
  const renewal = renewLease(current, undefined, now, p);
  const pending = current.counts?.admitted;
  const master: MasterRecord = { ...renewal.master, nextScanAt: now, ...(pending === undefined ? {} : { pending }) };
  return { step: renewal.step, master, marks: [], prune: [], notes: leaseNotes(renewal) };
}

/** A window opened without a scan gets its base from the first scan after: the agents admitted when it opened. */
function withWindowBase(m: MasterRecord, agents: AgentSummary[]): MasterRecord {
  const r = m.recovery;
  if (r.state === 'done' || r.deadline === undefined || r.admittedAtOpen !== undefined) return m;
  const admittedAtOpen = agents.reduce((n, a) => (wasAdmittedAt(a, m.startedAt) ? n + 1 : n), 0);
  return { ...m, recovery: { ...r, admittedAtOpen } };
}

export function planSweep(current: MasterRecord | undefined, agents: AgentSummary[], now: number, p: Policy): SweepPlan {
  const admitted = agents.filter((a) => a.status === 'admitted').length;
  const highestEpoch = agents.reduce((max, a) => Math.max(max, a.epoch), 0);
  const renewal = renewLease(current, admitted, now, p, highestEpoch);
  const { step } = renewal;
  const renewed = withWindowBase(renewal.master, agents);
  const notes = leaseNotes(renewal);

  const overdue = overdueAgents(renewed, agents, now, p);
  const releasedAt = renewed.recovery.releasedAt;
  // Agents already overdue when an operator released a hold are marked without the guard.
  const isReleased = (o: Overdue) => releasedAt !== undefined && o.since <= releasedAt;
  const released = overdue.filter(isReleased);
  const missed = overdue.filter((o) => o.missedWindow && !isReleased(o));
  const silent = overdue.filter((o) => !o.missedWindow && !isReleased(o));
  const open = windowOpen(renewed, now);
  let windowHold = windowHoldOf(renewed.recovery);
  let livenessHold = renewed.recovery.livenessHold;
  let chosen: Overdue[] = [...released];

  // Agents that missed the window are judged together at its close, against those admitted when it opened.
  const base = renewed.recovery.admittedAtOpen ?? admitted;
  if (open) {
    // Nobody has missed an open window yet: a hold from an earlier one waits for this one's close.
  } else if (missed.length > 0 && guardTrips(missed.length, base, p)) {
    const reason = `${missed.length} of ${base} agents would be marked unreachable at once: they did not re-register within the window (${limitText(p)}); an operator must release the hold`;
    if (!windowHold) notes.push(`marking held: ${reason}`);
    windowHold = { reason, since: windowHold?.since ?? now };
  } else {
    if (windowHold) notes.push('window hold cleared: the missing agents fell under the limit');
    else if (renewed.recovery.state === 'recovering') notes.push(`re-registration window closed: ${missed.length} agents did not re-register`);
    windowHold = undefined;
    chosen.push(...missed);
  }

  // Agents of this epoch fall silent one deadline at a time: the guard counts marks over a trailing
  // period, and a hold keeps the count it began with until the silent ones come back or are released.
  const recent = (renewed.recentMarks ?? []).filter((m) => now - m.at < trailingPeriod(p));
  const recentCount = livenessHold?.recentMarks ?? recent.reduce((sum, m) => sum + m.count, 0);
  if (silent.length > 0 && guardTrips(recentCount + silent.length, admitted + recentCount, p)) {
    const reason = `${recentCount + silent.length} of ${admitted + recentCount} agents would be marked unreachable within ${trailingPeriod(p) / 1000}s (${limitText(p)}); an operator must release the hold`;
    if (!livenessHold) notes.push(`marking held: ${reason}`);
    livenessHold = { reason, since: livenessHold?.since ?? now, recentMarks: recentCount };
  } else {
    if (livenessHold) notes.push('liveness hold cleared: the silent agents fell under the limit');
    livenessHold = undefined;
    chosen.push(...silent);
  }

  const recovery = settleRecovery(renewed.recovery, { ...(windowHold ? { windowHold } : {}), ...(livenessHold ? { livenessHold } : {}) }, open);

  let markBudget = renewed.markBudget;
  if (p.unreachableRateLimit && renewed.recovery.state === 'done') {
    ({ chosen, markBudget } = limitRate(chosen, released, markBudget, now, p.unreachableRateLimit));
  }
  chosen.sort((a, b) => a.agent.lastSeenAt - b.agent.lastSeenAt || a.since - b.since);

  const marks = chosen.map((o) => ({
    id: o.agent.id,
    reason: o.missedWindow
      ? `did not re-register within the window after epoch ${renewed.epoch} began`
      : `no heartbeat since ${new Date(o.agent.lastSeenAt).toISOString()}`,
  }));
  // Marks an operator released are not counted: the guard would otherwise trip again at once.
  const counted = marks.length - chosen.filter(isReleased).length;
  const recentMarks = counted > 0 ? [...recent, { at: now, count: counted }] : recent;
  const { recentMarks: _r, markBudget: _b, counts: _c, ...kept } = renewed;
  const prune = planPrune(agents, marks, now, p);
  const counts = { admitted: admitted - marks.length, unreachable: marks.length, gone: 0 };
  const pruned = new Set(prune.map((a) => a.id));
  for (const a of agents) if (a.status !== 'admitted' && !pruned.has(a.id)) counts[a.status]++;
  const marked = new Set(marks.map((m) => m.id));
  const pending = agents.filter((a) => !marked.has(a.id) && isPending({ epoch: renewed.epoch, recovery }, a)).length;
  // Anything left undone (marks held, limited or not yet landed, prunes, an open window) is looked at again next sweep.
  const settled = overdue.length === 0 && prune.length === 0 && recovery.state === 'done';
  const master: MasterRecord = {
    ...kept,
    counts,
    pending,
    countsAt: now,
    // An empty registry costs nothing to scan: its first agents are counted by the next sweep.
    nextScanAt: settled && agents.length > 0 ? nextDue(agents, renewed, now, p) : now,
    recovery,
    ...(markBudget ? { markBudget } : {}),
    ...(recentMarks.length > 0 ? { recentMarks } : {}),
  };
  return { step, master, marks, prune, notes };
}

/**
 * When the next scan is due: the earliest moment an agent as scanned could become overdue (a heartbeat
 * only moves that later; an agent registering later is due later still) or a record could be pruned,
 * and at most one granularity away, so counts stay that fresh. Detection keeps its bound: every sweep
 * from that moment on scans again.
 */
function nextDue(agents: AgentSummary[], master: MasterRecord, now: number, p: Policy): number {
  let due = now + p.livenessGranularity;
  for (const a of agents) {
    if (a.status === 'admitted') due = Math.min(due, Math.max(a.lastSeenAt, master.livenessFloor) + p.agentTimeout + p.livenessGranularity);
    else due = Math.min(due, ((a.status === 'gone' ? a.goneAt : a.unreachableAt) ?? a.lastSeenAt) + p.registryRetention);
  }
  return due;
}

/**
 * Whether this sweep must scan the agents, or may only renew the lease: a scan is due when the last
 * one said so (less the clock skew between instances), and always while recovering or holding, on a
 * new epoch or after a gap (rules 3, 4).
 */
export function scanDue(m: MasterRecord, now: number, p: Policy): boolean {
  if (m.nextScanAt === undefined || m.recovery.state !== 'done') return true;
  if (leaseLapsed(m, now, p) || now - m.lastSweepAt > gapLength(p)) return true;
  return now >= m.nextScanAt - p.maxClockSkew;
}

/** A sweep that renews the lease and leaves everything else as the last scan did. */
export function planRenewal(current: MasterRecord, now: number, p: Policy): SweepPlan {
  const { master, step } = renewLease(current, current.counts?.admitted ?? 0, now, p);
  return { step, master, marks: [], prune: [], notes: [] };
}

/** Rule 10: at most `count` marks per `per` ms, oldest lastSeenAt first; released agents are not limited. */
function limitRate(chosen: Overdue[], released: Overdue[], budget: MarkBudget | undefined, now: number, limit: { count: number; per: number }) {
  const window = budget && now - budget.windowStart < limit.per ? budget : { windowStart: now, used: 0 };
  const free = chosen.filter((o) => released.includes(o));
  const limited = chosen.filter((o) => !released.includes(o)).slice(0, Math.max(0, limit.count - window.used));
  return { chosen: [...free, ...limited], markBudget: { windowStart: window.windowStart, used: window.used + limited.length } };
}

/** Rule 14: unreachable and gone records older than the retention, then the oldest beyond the maximum. */
export function planPrune(agents: AgentSummary[], marks: Mark[], now: number, p: Policy): AgentSummary[] {
  const marked = new Set(marks.map((m) => m.id));
  const endedAt = (a: AgentSummary) => (a.status === 'gone' ? a.goneAt : a.unreachableAt) ?? a.lastSeenAt;
  const ended = agents
    .filter((a) => a.status !== 'admitted' && !marked.has(a.id))
    .sort((a, b) => endedAt(a) - endedAt(b));
  const expired = ended.filter((a) => endedAt(a) + p.registryRetention < now);
  const excess = Math.max(0, agents.length - expired.length - p.registryMaxEntries);
  return [...expired, ...ended.slice(expired.length, expired.length + excess)];
}
