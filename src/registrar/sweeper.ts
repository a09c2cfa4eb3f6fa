// The sweeper (DESIGN.md, Semantics 3–6, 10, 14), shared by every runtime: read the registry,
// let the pure plan decide, write `master` first (exactly one of concurrent sweepers wins), then
// mark and prune in commits fenced on the master version it wrote, only while its lease holds.
import {
  actBefore, applyMark, frameworkNextDue, planFrameworkSweep, planNewEpoch, planRenewal, planSweep, scanDue, startsEpochWithoutScan, summarize,
  sweptRecently,
  type AgentRecord, type AgentSummary, type LeaseStep, type Mark, type MasterRecord,
} from '../registry/index.ts';
import { ConflictError, STORE_LIMITS, StoreLimitError, StoreUnavailableError, fitCommit, type Version, type Write } from '../store.ts';
import { AGENT_PREFIX, MASTER_KEY, TOMBSTONE_PREFIX, agentKey, tombstoneKey, type RegistrarCore } from './core.ts';
import { frameworkSweeper, type FrameworkSweepReport } from './framework-sweeper.ts';
import { EVENT_PREFIX, EVENT_RETENTION, eventWrites, eventsBetween, expiredStretch, newestEvent, recoveryEvents, restampEvents, type RegistryEvent } from './events.ts';

/** What is left of a pruned agent: its id is never admitted again. */
interface Tombstone {
  id: string;
  prunedAt: number;
}

/** Marks are read again and written this many at a time, so memory stays bounded however many there are. */
const MARK_BATCH = 100;

/** Tombstones outlive the records they replace by this factor of the registry's retention (rule 8). */
const TOMBSTONE_RETENTION_FACTOR = 10;

export interface SweepReport {
  /**
   * 'lost' when another sweeper wrote `master` first; 'lease' when this one ran out of lease;
   * 'skipped' when another sweep started less than half an interval ago (rule 3).
   */
  outcome: 'done' | 'lost' | 'lease' | 'skipped';
  step?: LeaseStep;
  epoch?: number;
  /** Whether it read the agents (a sweep before anything can fall due only renews the lease). */
  scanned?: boolean;
  marked: string[];
  pruned: string[];
  held?: string;
  /** What the sweep did to frameworks (framework-sweeper.ts). */
  frameworks?: FrameworkSweepReport;
  notes: string[];
}

export function createSweeper(core: RegistrarCore) {
  const { store, clock, policy, log } = core;
  const { readFrameworks, sweepFrameworks } = frameworkSweeper(core);

  /**
   * Commits fenced groups of writes (each group one record's change, kept together) in chunks; drops
   * a group whose record changed meanwhile, stops when fenced out. Returns the ids of groups done.
   */
  async function fenced(groups: Write[][], fence: Version, master: MasterRecord): Promise<{ done: string[]; stopped?: SweepReport['outcome'] }> {
    const done: string[] = [];
    let pending = groups;
    const idOf = (group: Write[]) => group[0]!.key.slice(group[0]!.key.indexOf('/') + 1);
    while (pending.length > 0) {
      if (clock.now() >= actBefore(master, policy)) return { done, stopped: 'lease' };
      const check: Write = { key: MASTER_KEY, expect: fence, check: true };
      // As many groups as fit beside the fence, by count and by bytes.
      const fit = fitCommit(pending.slice(0, STORE_LIMITS.writesPerCommit).flat(), [check]);
      let take = 0;
      for (let writes = 0; take < pending.length && writes + pending[take]!.length <= fit; take++) writes += pending[take]!.length;
      const chunk = pending.slice(0, Math.max(1, take));
      try {
        await core.withRetry(() => store.commit(restampEvents([check, ...chunk.flat()], clock.now())));
      } catch (err) {
        if (err instanceof StoreLimitError && chunk.length === 1) {
          // A record too large to write even alone: skip it rather than stop the sweep.
          log('sweep: skipped a record too large to write', { key: chunk[0]![0]!.key, error: err.message });
          pending = pending.slice(1);
          continue;
        }
        if (!(err instanceof ConflictError)) throw err;
        if (err.key === MASTER_KEY) return { done, stopped: 'lost' };
        // That record changed since it was read (a heartbeat, an operator): the next sweep judges it again.
        pending = pending.filter((g) => !g.some((w) => w.key === err.key));
        continue;
      }
      done.push(...chunk.map(idOf));
      pending = pending.slice(chunk.length);
    }
    return { done };
  }

  return async function sweep(): Promise<SweepReport> {
    // This sweep's time is its start: the moment the store answered its read of master, before the
    // scan. Gaps are measured between starts; a sweep that waited out an outage for that answer
    // must not date itself inside the outage, which would hide part of it from the gap test.
    const masterItem = await core.withRetry(() => store.get<MasterRecord>(MASTER_KEY));
    const now = clock.now();
    if (masterItem && sweptRecently(masterItem.value, now, policy)) {
      return { outcome: 'skipped', epoch: masterItem.value.epoch, marked: [], pruned: [], notes: ['another sweep started less than half an interval ago'] };
    }
    // Only what judging needs is kept of each record: memory stays small on a large registry. A sweep
    // before anything can fall due only renews the lease: scans are spaced by the registry's own
    // deadlines, not by how often instances sweep. One that starts an epoch marks nobody, so it does
    // not scan either: a cold start serves at once, and the next sweep scans.
    const agents: AgentSummary[] = [];
    const versions = new Map<string, Version>();
    const newEpoch = masterItem !== undefined && startsEpochWithoutScan(masterItem.value, now, policy);
    const scanned = !newEpoch && (!masterItem || scanDue(masterItem.value, now, policy));
    if (scanned) {
      for await (const page of core.scanPages<AgentRecord>(AGENT_PREFIX)) {
        for (const { value, version } of page) {
          agents.push(summarize(value));
          versions.set(value.id, version);
        }
      }
    }
    const frameworks = scanned ? await readFrameworks() : undefined;
    const plan = scanned
      ? planSweep(masterItem?.value, agents, now, policy)
      : newEpoch ? planNewEpoch(masterItem.value, now, policy) : planRenewal(masterItem.value, now, policy);
    // The frameworks' deadlines space the scans too: a framework's verdict is never a granularity late.
    if (frameworks && plan.master.nextScanAt !== undefined) {
      plan.master.nextScanAt = Math.min(plan.master.nextScanAt, frameworkNextDue(frameworks.frameworks, plan.master, policy));
    }
    if (frameworks) plan.master.frameworkCounts = planFrameworkSweep(plan.master, frameworks.frameworks, now, policy).counts; // GET /api/v1/master, no scan
    let fence: Version;
    // Recovery's transitions go to the event log with the master write that makes them (a sweep of
    // the same epoch writing them in the same millisecond would have lost the race for master anyway).
    const events = eventWrites(recoveryEvents(masterItem?.value, plan.master, now), now, `sweep-${plan.master.epoch}`);
    try {
      const written = await core.withRetry(() =>
        store.commit(restampEvents([{ key: MASTER_KEY, expect: masterItem?.version ?? 'absent', put: plan.master }, ...events], clock.now())),
      );
      fence = written[MASTER_KEY]!;
      core.rememberMaster({ key: MASTER_KEY, value: plan.master, version: fence });
    } catch (err) {
      if (err instanceof ConflictError) return { outcome: 'lost', marked: [], pruned: [], notes: ['another sweeper wrote the master record first'] };
      if (err instanceof StoreUnavailableError) log('sweep: master write failed', { error: err.message, outcome: err.outcome });
      throw err;
    }
    for (const note of plan.notes) log(`sweep: ${note}`, { epoch: plan.master.epoch });
    const report: SweepReport = { outcome: 'done', step: plan.step, epoch: plan.master.epoch, scanned, marked: [], pruned: [], notes: plan.notes };
    if (plan.master.recovery.state === 'held') report.held = plan.master.recovery.heldReason;
    // Frameworks are judged by the sweeps that scan: at least once per granularity (framework-sweeper.ts).
    if (frameworks) report.frameworks = await sweepFrameworks(plan.master, fence, now, frameworks);
    if (report.frameworks?.stopped) return { ...report, outcome: report.frameworks.stopped };

    const marks = await markAll(plan.marks, versions, now, fence, plan.master);
    report.marked = marks.done;
    if (marks.stopped) return { ...report, outcome: marks.stopped };

    // A pruned agent leaves a tombstone in the same commit, so its id is never admitted again (rule 8).
    const pruned = await fenced(
      plan.prune.map((a) => [
        { key: agentKey(a.id), expect: versions.get(a.id)!, delete: true as const },
        { key: tombstoneKey(a.id), expect: 'any' as const, put: { id: a.id, prunedAt: now } satisfies Tombstone },
      ]),
      fence,
      plan.master,
    );
    report.pruned = pruned.done;
    if (pruned.done.length > 0) log('pruned agent records', { count: pruned.done.length });
    if (pruned.stopped) return { ...report, outcome: pruned.stopped };

    // Tombstones grow only with prunes, so only a sweep that pruned looks for expired ones.
    const expired = pruned.done.length > 0 ? await expiredTombstones(now) : [];
    const cleared = await fenced(expired.map((t) => [{ key: t.key, expect: t.version, delete: true as const }]), fence, plan.master);
    if (cleared.done.length > 0) log('pruned tombstones', { count: cleared.done.length });
    if (cleared.stopped) return { ...report, outcome: cleared.stopped };

    // Events expire an hour after they were written, a block of the log at a time: the scanning sweep
    // whose stretch since the previous one (`countsAt`) reaches a block's end an hour ago deletes that
    // block. Most sweeps read nothing of the log; one in a block's length lists it once.
    if (!scanned || !masterItem) return report;
    const since = masterItem.value.countsAt ?? masterItem.value.lastSweepAt;
    const old: Write[][] = [];
    const stretch = expiredStretch(since - EVENT_RETENTION, now - EVENT_RETENTION);
    if (stretch) {
      for await (const e of eventsBetween((prefix) => core.scan<RegistryEvent>(prefix), ...stretch)) {
        old.push([{ key: `${EVENT_PREFIX}${e.id}`, expect: e.version, delete: true }]);
      }
    }
    const expiredEvents = await fenced(old, fence, plan.master);
    if (expiredEvents.done.length > 0) log('pruned events', { count: expiredEvents.done.length });
    return expiredEvents.stopped ? { ...report, outcome: expiredEvents.stopped } : report;
  };

  /**
   * Marks agents a batch at a time: each record is read again, and marked only if it is still the
   * version the scan judged (a heartbeat meanwhile wins); every write expects that version.
   */
  async function markAll(marks: Mark[], versions: Map<string, Version>, now: number, fence: Version, master: MasterRecord) {
    const requestId = core.entropy.id();
    const done: string[] = [];
    for (let i = 0; i < marks.length; i += MARK_BATCH) {
      const batch = marks.slice(i, i + MARK_BATCH);
      const items = await Promise.all(batch.map((m) => core.readAgent(m.id)));
      const groups = batch.flatMap((mark, n) => {
        const item = items[n];
        if (!item || item.version !== versions.get(mark.id)) return [];
        const marked = { ...applyMark(item.value, mark, now), lastRequestId: requestId };
        // Its event goes in the same commit, stamped when the commit is sent (a tag per agent: one mark each).
        return [[{ key: agentKey(mark.id), expect: item.version, put: marked }, ...eventWrites(newestEvent(mark.id, marked), now, `${requestId}-${mark.id}`)]];
      });
      const result = await fenced(groups, fence, master);
      const reasons = new Map(batch.map((m) => [m.id, m.reason]));
      for (const id of result.done) log('agent marked unreachable', { agentId: id, reason: reasons.get(id) });
      done.push(...result.done);
      if (result.stopped) return { done, stopped: result.stopped };
    }
    return { done };
  }

  /** Tombstones past their retention, and the oldest beyond the registry's maximum (rule 8, 14). */
  async function expiredTombstones(now: number): Promise<{ key: string; version: Version }[]> {
    const all: { key: string; version: Version; prunedAt: number }[] = [];
    for await (const { key, value, version } of core.scan<Tombstone>(TOMBSTONE_PREFIX)) all.push({ key, version, prunedAt: value.prunedAt });
    all.sort((a, b) => a.prunedAt - b.prunedAt);
    const kept = all.filter((t) => now - t.prunedAt <= TOMBSTONE_RETENTION_FACTOR * policy.registryRetention);
    const excess = Math.max(0, kept.length - policy.registryMaxEntries);
    return [...all.slice(0, all.length - kept.length), ...kept.slice(0, excess)];
  }
}
