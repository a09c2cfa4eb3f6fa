// The sweeper's part for frameworks (DESIGN.md, "Frameworks"; docs/design.md, "Frameworks"). Each
// scanning sweep reads the frameworks with the agents, before it writes `master` (their deadlines
// bound its nextScanAt); after writing it, it lets the pure plan (src/registry/framework-sweep.ts)
// decide, and applies each verdict and prune in its own commit fenced on the master version it wrote
// (rule 6), only before leaseExpiresAt − maxClockSkew. Frameworks are few: one list of `frameworks/`,
// one commit each.
import {
  actBefore, markCompleted, markDisconnected, planFrameworkSweep, summarizeFramework,
  type FrameworkRecord, type FrameworkStatus, type FrameworkSummary, type FrameworkVerdict, type MasterRecord,
} from '../registry/index.ts';
import { ConflictError, type Version, type Write } from '../store.ts';
import { FRAMEWORK_PREFIX, MASTER_KEY, frameworkKey, tombstoneKey, type RegistrarCore } from './core.ts';

export interface FrameworkSweepReport {
  disconnected: string[];
  completed: string[];
  pruned: string[];
  /** Frameworks by status as this sweep left them (planned verdicts and prunes counted as done). */
  counts: Record<FrameworkStatus, number>;
  /** 'lost' when another sweeper wrote `master` since; 'lease' when this one ran out of lease. */
  stopped?: 'lost' | 'lease';
}

/** The frameworks as a scanning sweep read them, with the versions its verdicts expect. */
export interface FrameworksRead {
  frameworks: FrameworkSummary[];
  versions: Map<string, Version>;
}

export function frameworkSweeper(core: RegistrarCore) {
  const { store, clock, policy, log } = core;

  /** One fenced commit; 'changed' when the framework changed since it was read (the next sweep judges it again). */
  async function commitFenced(writes: Write[], fence: Version, master: MasterRecord): Promise<'done' | 'changed' | 'lost' | 'lease'> {
    if (clock.now() >= actBefore(master, policy)) return 'lease';
    try {
      await core.withRetry(() => store.commit([{ key: MASTER_KEY, expect: fence, check: true }, ...writes]));
      return 'done';
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      return err.key === MASTER_KEY ? 'lost' : 'changed';
    }
  }

  const apply = (record: FrameworkRecord, v: FrameworkVerdict, now: number) =>
    v.to === 'disconnected' ? markDisconnected(record, now, { by: 'master', reason: v.reason }) : markCompleted(record, now, { by: 'master', reason: v.reason });

  /** What judging needs of every framework, read with the agents' scan (before `master` is written, so its deadlines can space the scans). */
  async function readFrameworks(): Promise<FrameworksRead> {
    const frameworks: FrameworkSummary[] = [];
    const versions = new Map<string, Version>();
    for await (const { value, version } of core.scan<FrameworkRecord>(FRAMEWORK_PREFIX)) {
      frameworks.push(summarizeFramework(value));
      versions.set(value.id, version);
    }
    return { frameworks, versions };
  }

  /** Judges the frameworks read against the master record this sweep wrote at `fence`, at the sweep's time `now`. */
  async function sweepFrameworks(master: MasterRecord, fence: Version, now: number, { frameworks, versions }: FrameworksRead): Promise<FrameworkSweepReport> {
    const plan = planFrameworkSweep(master, frameworks, now, policy);
    for (const note of plan.notes) log(`sweep: ${note}`, { epoch: master.epoch });
    const report: FrameworkSweepReport = { disconnected: [], completed: [], pruned: [], counts: plan.counts };
    const requestId = core.entropy.id();

    for (const v of plan.verdicts) {
      // Read again: marked only if still the version judged (a heartbeat or re-registration meanwhile wins).
      const item = await core.readFramework(v.id);
      if (!item || item.version !== versions.get(v.id)) continue;
      const next = { ...apply(item.value, v, now), lastRequestId: requestId };
      const outcome = await commitFenced([{ key: frameworkKey(v.id), expect: item.version, put: next }], fence, master);
      if (outcome === 'lost' || outcome === 'lease') return { ...report, stopped: outcome };
      if (outcome !== 'done') continue;
      report[v.to].push(v.id);
      log(`framework ${v.to}`, { frameworkId: v.id, at: now, by: 'master', reason: v.reason });
    }

    // A pruned framework leaves a tombstone (the agents' prefix: ids are UUIDs), so a chosen id is never registered again (rule 8).
    for (const f of plan.prune) {
      const outcome = await commitFenced(
        [
          { key: frameworkKey(f.id), expect: versions.get(f.id)!, delete: true },
          { key: tombstoneKey(f.id), expect: 'any', put: { id: f.id, prunedAt: now } },
        ],
        fence,
        master,
      );
      if (outcome === 'lost' || outcome === 'lease') return { ...report, stopped: outcome };
      if (outcome === 'done') report.pruned.push(f.id);
    }
    if (report.pruned.length > 0) log('pruned framework records', { count: report.pruned.length });
    return report;
  }

  return { readFrameworks, sweepFrameworks };
}
