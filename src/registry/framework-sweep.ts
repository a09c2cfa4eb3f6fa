// The sweeper's decisions about frameworks (DESIGN.md, "Frameworks"; docs/design.md, "Frameworks") as
// one pure function of the master record the sweep wrote, the frameworks and the time: which to mark
// disconnected, which completed, which to prune. The agents' rules carry over:
// - liveness as rule 2: an active framework of this epoch is overdue at
//   max(lastSeenAt, livenessFloor) + agentTimeout + livenessGranularity;
// - after a new epoch, a framework of an older one waits for the window to close (rule 4), then is
//   disconnected; a disconnected one is completed once its failover timeout has passed since it was
//   disconnected, since the window closed (older epochs) and since the last gap (the liveness floor);
// - the guard of rule 4 is the agents': while marking is held, no framework is disconnected either
//   (an outage silences schedulers and agents alike); frameworks are few, so they have no guard or
//   rate limit of their own, and completions (the failover timeout's verdicts) go on;
// - completed frameworks are pruned as gone agents are (rule 14).
import type { FrameworkRecord, FrameworkStatus } from './framework.ts';
import { windowOpen } from './master.ts';
import type { MasterRecord, Policy } from './types.ts';

/** What judging a framework needs of its record. */
export type FrameworkSummary = Pick<FrameworkRecord, 'id' | 'status' | 'epoch' | 'lastSeenAt' | 'failoverTimeoutSeconds' | 'disconnectedAt' | 'completedAt'>;

export const summarizeFramework = (r: FrameworkRecord): FrameworkSummary => ({
  id: r.id,
  status: r.status,
  epoch: r.epoch,
  lastSeenAt: r.lastSeenAt,
  failoverTimeoutSeconds: r.failoverTimeoutSeconds,
  ...(r.disconnectedAt === undefined ? {} : { disconnectedAt: r.disconnectedAt }),
  ...(r.completedAt === undefined ? {} : { completedAt: r.completedAt }),
});

export interface FrameworkVerdict {
  id: string;
  to: 'disconnected' | 'completed';
  reason: string;
}

export interface FrameworkSweepPlan {
  verdicts: FrameworkVerdict[];
  prune: FrameworkSummary[];
  /** Frameworks by status once the verdicts and prunes land. */
  counts: Record<FrameworkStatus, number>;
  notes: string[];
}

/** Frameworks not yet re-registered in an open or held window, as `isPending` says of agents. */
export const isFrameworkPending = (master: Pick<MasterRecord, 'epoch' | 'recovery'>, f: Pick<FrameworkSummary, 'status' | 'epoch'>) =>
  f.status === 'active' && f.epoch !== master.epoch && master.recovery.state !== 'done';

/** When an active framework of the current epoch is overdue (rule 2's deadline). */
export const frameworkOverdueAt = (f: Pick<FrameworkSummary, 'lastSeenAt'>, master: Pick<MasterRecord, 'livenessFloor'>, p: Pick<Policy, 'agentTimeout' | 'livenessGranularity'>) =>
  Math.max(f.lastSeenAt, master.livenessFloor) + p.agentTimeout + p.livenessGranularity;

/**
 * When a disconnected framework's failover timeout runs out: counted from its disconnection, and never
 * from before the last gap or, for a framework of an older epoch, before the window closed.
 */
export function failoverEndsAt(f: FrameworkSummary, master: MasterRecord): number {
  const windowEnd = f.epoch !== master.epoch ? master.recovery.deadline ?? master.startedAt : 0;
  return Math.max(f.disconnectedAt ?? f.lastSeenAt, master.livenessFloor, windowEnd) + f.failoverTimeoutSeconds * 1000;
}

/**
 * The earliest moment a framework as read could need a verdict or a prune, for the master's
 * `nextScanAt`: scans are spaced by the registry's deadlines, the frameworks' included, so a
 * framework's detection keeps the agents' bound (rule 5) and its failover timeout is judged on time.
 * A framework of an older epoch waits for the window, and scans run every sweep while it is open.
 */
export function frameworkNextDue(frameworks: FrameworkSummary[], master: MasterRecord, p: Pick<Policy, 'agentTimeout' | 'livenessGranularity' | 'registryRetention'>): number {
  let due = Number.POSITIVE_INFINITY;
  for (const f of frameworks) {
    if (f.status === 'active') due = Math.min(due, f.epoch === master.epoch ? frameworkOverdueAt(f, master, p) : master.recovery.deadline ?? master.startedAt);
    else if (f.status === 'disconnected') due = Math.min(due, failoverEndsAt(f, master));
    else due = Math.min(due, (f.completedAt ?? f.lastSeenAt) + p.registryRetention);
  }
  return due;
}

/** Completed frameworks older than the retention, then the oldest beyond the registry's maximum. */
export function planFrameworkPrune(frameworks: FrameworkSummary[], now: number, p: Pick<Policy, 'registryRetention' | 'registryMaxEntries'>): FrameworkSummary[] {
  const endedAt = (f: FrameworkSummary) => f.completedAt ?? f.lastSeenAt;
  const ended = frameworks.filter((f) => f.status === 'completed').sort((a, b) => endedAt(a) - endedAt(b));
  const expired = ended.filter((f) => endedAt(f) + p.registryRetention < now);
  const excess = Math.max(0, frameworks.length - expired.length - p.registryMaxEntries);
  return [...expired, ...ended.slice(expired.length, expired.length + excess)];
}

export function planFrameworkSweep(master: MasterRecord, frameworks: FrameworkSummary[], now: number, p: Policy): FrameworkSweepPlan {
  const open = windowOpen(master, now);
  const held = master.recovery.state === 'held';
  const verdicts: FrameworkVerdict[] = [];
  const notes: string[] = [];
  let heldBack = 0;
  for (const f of frameworks) {
    if (f.status === 'active') {
      const current = f.epoch === master.epoch;
      const overdueAt = frameworkOverdueAt(f, master, p);
      const due = current ? overdueAt < now : !open;
      if (!due) continue;
      if (held) {
        heldBack++;
        continue;
      }
      const reason = current
        ? `no heartbeat since ${new Date(f.lastSeenAt).toISOString()}`
        : `did not re-register within the window after epoch ${master.epoch} began`;
      verdicts.push({ id: f.id, to: 'disconnected', reason });
    } else if (f.status === 'disconnected' && failoverEndsAt(f, master) <= now) {
      verdicts.push({ id: f.id, to: 'completed', reason: `did not re-register within its failover timeout (${f.failoverTimeoutSeconds}s)` });
    }
  }
  if (heldBack > 0) notes.push(`${heldBack} overdue frameworks wait: marking is held`);
  const prune = planFrameworkPrune(frameworks, now, p);
  const counts: Record<FrameworkStatus, number> = { active: 0, disconnected: 0, completed: 0 };
  const after = new Map(verdicts.map((v) => [v.id, v.to]));
  const pruned = new Set(prune.map((f) => f.id));
  for (const f of frameworks) if (!pruned.has(f.id)) counts[after.get(f.id) ?? f.status]++;
  return { verdicts, prune, counts, notes };
}
