// The sweeper (DESIGN.md, Semantics 3–6, 10, 14), shared by every runtime: read the registry,
// let the pure plan decide, write `master` first (exactly one of concurrent sweepers wins), then
// mark and prune in commits fenced on the master version it wrote, only while its lease holds.
import { actBefore, planSweep, type AgentRecord, type LeaseStep, type MasterRecord } from '../registry/index.ts';
import { ConflictError, StoreLimitError, StoreUnavailableError, fitCommit, type Version, type Write } from '../store.ts';
import { AGENT_PREFIX, MASTER_KEY, agentKey, type RegistrarCore } from './core.ts';

export interface SweepReport {
  /** 'lost' when another sweeper wrote `master` first; 'lease' when this one ran out of lease. */
  outcome: 'done' | 'lost' | 'lease';
  step?: LeaseStep;
  epoch?: number;
  marked: string[];
  pruned: string[];
  held?: string;
  notes: string[];
}

export function createSweeper(core: RegistrarCore) {
  const { store, clock, policy, log } = core;

  /** Commits fenced writes in chunks; drops an agent that changed meanwhile, stops when fenced out. */
  async function fenced(writes: Write[], fence: Version, master: MasterRecord): Promise<{ done: string[]; stopped?: SweepReport['outcome'] }> {
    const done: string[] = [];
    let pending = writes;
    while (pending.length > 0) {
      if (clock.now() >= actBefore(master, policy)) return { done, stopped: 'lease' };
      const check: Write = { key: MASTER_KEY, expect: fence, check: true };
      // As many writes as fit beside the fence, by count and by bytes.
      const chunk = pending.slice(0, fitCommit(pending, [check]));
      try {
        await core.withRetry(() => store.commit([check, ...chunk]));
      } catch (err) {
        if (err instanceof StoreLimitError && chunk.length === 1) {
          // A record too large to write even alone: skip it rather than stop the sweep.
          log('sweep: skipped a record too large to write', { key: chunk[0]!.key, error: err.message });
          pending = pending.slice(1);
          continue;
        }
        if (!(err instanceof ConflictError)) throw err;
        if (err.key === MASTER_KEY) return { done, stopped: 'lost' };
        // That agent changed since it was read (a heartbeat, an operator): the next sweep judges it again.
        pending = pending.filter((w) => w.key !== err.key);
        continue;
      }
      done.push(...chunk.map((w) => w.key.slice(AGENT_PREFIX.length)));
      pending = pending.slice(chunk.length);
    }
    return { done };
  }

  return async function sweep(): Promise<SweepReport> {
    const masterItem = await core.withRetry(() => store.get<MasterRecord>(MASTER_KEY));
    const agents: AgentRecord[] = [];
    const versions = new Map<string, Version>();
    for await (const { value, version } of core.scan<AgentRecord>(AGENT_PREFIX)) {
      agents.push(value);
      versions.set(value.id, version);
    }
    const now = clock.now();
    const plan = planSweep(masterItem?.value, agents, now, policy);
    let fence: Version;
    try {
      const written = await core.withRetry(() =>
        store.commit([{ key: MASTER_KEY, expect: masterItem?.version ?? 'absent', put: plan.master }]),
      );
      fence = written[MASTER_KEY]!;
    } catch (err) {
      if (err instanceof ConflictError) return { outcome: 'lost', marked: [], pruned: [], notes: ['another sweeper wrote the master record first'] };
      if (err instanceof StoreUnavailableError) log('sweep: master write failed', { error: err.message, outcome: err.outcome });
      throw err;
    }
    for (const note of plan.notes) log(`sweep: ${note}`, { epoch: plan.master.epoch });
    const report: SweepReport = { outcome: 'done', step: plan.step, epoch: plan.master.epoch, marked: [], pruned: [], notes: plan.notes };
    if (plan.master.recovery.state === 'held') report.held = plan.master.recovery.heldReason;

    const requestId = core.entropy.id();
    const marks = await fenced(
      plan.marks.map((m) => ({ key: agentKey(m.id), expect: versions.get(m.id)!, put: { ...m, lastRequestId: requestId } })),
      fence,
      plan.master,
    );
    report.marked = marks.done;
    const reasons = new Map(plan.marks.map((m) => [m.id, m.events.at(-1)?.reason]));
    for (const id of marks.done) log('agent marked unreachable', { agentId: id, reason: reasons.get(id) });
    if (marks.stopped) return { ...report, outcome: marks.stopped };

    const pruned = await fenced(
      plan.prune.map((p) => ({ key: agentKey(p.id), expect: versions.get(p.id)!, delete: true as const })),
      fence,
      plan.master,
    );
    report.pruned = pruned.done;
    if (pruned.done.length > 0) log('pruned agent records', { count: pruned.done.length });
    return pruned.stopped ? { ...report, outcome: pruned.stopped } : report;
  };
}
