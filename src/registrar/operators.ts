// The operator API on top of the registrar core: read and list agents, mark gone, drain,
// deactivate, reactivate, master status, release a hold, export the registry.
import {
  deactivateAgent, drainAgent, isPending, isRefusal, markGone, overdueAgents, reactivateAgent, refuse, releaseHold, summarize,
  type Actor, type AgentRecord, type AgentStatus, type AgentSummary, type FrameworkRecord, type MasterRecord,
} from '../registry/index.ts';
import { ConflictError } from '../store.ts';
import { AGENT_PREFIX, FRAMEWORK_PREFIX, MASTER_KEY, RefusedError, agentKey, type RegistrarCore } from './core.ts';
import { frameworkView } from './frameworks.ts';
import { TICKET_KEYS_KEY } from './tickets.ts';
import { EVENT_PREFIX, eventWrites, eventsBetween, recoveryEvents, restampEvents, type LoggedEvent, type RegistryEvent } from './events.ts';

/** What operators see of an agent: never its secret hash, nor the registrar's bookkeeping. */
export type AgentView = Omit<AgentRecord, 'secretHash' | 'lastRequestId'>;
export function agentView(record: AgentRecord): AgentView {
  const { secretHash: _s, lastRequestId: _r, ...view } = record;
  return view;
}

export interface AgentFilter {
  status?: AgentStatus;
  hostname?: string;
  machineId?: string;
  idPrefix?: string;
  /** `key:value` pairs, all of which must match. */
  attributes?: [string, string][];
  lastSeenBefore?: number;
  drain?: 'draining' | 'drained' | 'none';
  pending?: boolean;
}

export function matches(record: AgentRecord, f: AgentFilter, master: MasterRecord | undefined): boolean {
  if (f.status && record.status !== f.status) return false;
  if (f.hostname !== undefined && record.info.hostname !== f.hostname) return false;
  if (f.machineId !== undefined && record.info.machineId !== f.machineId) return false;
  if (f.attributes?.some(([k, v]) => record.info.attributes[k] !== v)) return false;
  if (f.lastSeenBefore !== undefined && !(record.lastSeenAt < f.lastSeenBefore)) return false;
  if (f.drain && (record.drain?.state ?? 'none') !== f.drain) return false;
  if (f.pending !== undefined && (master !== undefined && isPending(master, record)) !== f.pending) return false;
  return true;
}

/** A release re-reads `master` and tries again this often when sweeps keep writing it. */
const RELEASE_ATTEMPTS = 10;

export function operatorApi(core: RegistrarCore) {
  const { clock } = core;

  async function getAgent(id: string): Promise<AgentRecord> {
    const item = await core.readAgent(id);
    if (!item) throw new RefusedError(refuse('unknown-agent', `no agent ${id}`));
    return item.value;
  }

  /** An operator action on one agent; unknown ids are refused, every change is an event. */
  async function act(id: string, apply: (record: AgentRecord, now: number) => ReturnType<typeof drainAgent>): Promise<AgentRecord> {
    const { record } = await core.changeAgent(id, (current) =>
      current ? apply(current, clock.now()) : refuse('unknown-agent', `no agent ${id}`),
    );
    return record!;
  }

  /** Live counts by a full scan of the agents: every record read. */
  async function countAgents(master: MasterRecord) {
    const countsAt = clock.now();
    const counts: Record<AgentStatus, number> = { admitted: 0, unreachable: 0, gone: 0 };
    let pending = 0;
    for await (const { value } of core.scan<AgentRecord>(AGENT_PREFIX)) {
      counts[value.status]++;
      if (isPending(master, value)) pending++;
    }
    return { counts, pending, countsAt };
  }

  return {
    getAgent,

    /** One page of agents; filtering may leave it short or empty while a cursor still comes back. */
    async listAgents(f: AgentFilter, page: { cursor?: string; limit?: number }) {
      const master = f.pending === undefined ? undefined : (await core.currentMaster()).value;
      const prefix = agentKey(f.idPrefix ?? '');
      const { items, cursor } = await core.withRetry(() => core.store.list<AgentRecord>(prefix, { cursor: page.cursor, limit: page.limit ?? 100 }));
      const agents = items.map((i) => i.value).filter((r) => matches(r, f, master));
      return { agents, ...(cursor ? { cursor } : {}) };
    },

    markGone: (id: string, actor: Actor) => act(id, (r, now) => markGone(r, now, actor)),
    drain: (id: string, d: { maxGracePeriod?: number; markGone?: boolean }, actor: Actor) =>
      act(id, (r, now) => drainAgent(r, { now, actor, ...d })),
    deactivate: (id: string, actor: Actor) => act(id, (r, now) => deactivateAgent(r, now, actor)),
    reactivate: (id: string, actor: Actor) => act(id, (r, now) => reactivateAgent(r, now, actor)),

    /**
     * The master record with its counts, in one store read: the counts the last sweep kept in it
     * (as of `countsAt`, at most a sweep interval behind while a sweeper runs). A record written
     * before the sweep kept them is answered with a scan, until the next sweep writes them.
     */
    async masterStatus() {
      const master = (await core.currentMaster({ fresh: true })).value;
      if (master.counts === undefined || master.pending === undefined) return { master, ...(await countAgents(master)) };
      // A release may have settled recovery since the sweep counted: then nobody is pending.
      const pending = master.recovery.state === 'done' ? 0 : master.pending;
      return { master, counts: master.counts, pending, countsAt: master.countsAt ?? master.lastSweepAt };
    },

    countAgents,

    /**
     * Releases a hold: the one write to `master` outside the sweeper. The scan for what the release
     * lets the next sweep mark comes first; then a short read-and-compare loop on `master` alone, so
     * that sweeps writing it meanwhile never starve a release on a large registry.
     */
    async releaseHold(actor: Actor, opts: { dryRun?: boolean } = {}) {
      const first = await core.currentMaster({ fresh: true });
      if (isRefusal(releaseHold(first.value, clock.now(), actor))) throw new RefusedError(refuse('not-held', 'marking is not held'));
      const agents: AgentSummary[] = [];
      for await (const { value } of core.scan<AgentRecord>(AGENT_PREFIX)) agents.push(summarize(value));
      const wouldMarkAt = (master: MasterRecord, now: number) => {
        const released = releaseHold(master, now, actor);
        return isRefusal(released) ? [] : overdueAgents(released, agents, now, core.policy).map((o) => o.agent.id);
      };
      if (opts.dryRun) return { master: first.value, wouldMark: wouldMarkAt(first.value, clock.now()), dryRun: true };
      for (let attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++) {
        const item = attempt === 0 ? first : await core.currentMaster({ fresh: true });
        const now = clock.now();
        const released = releaseHold(item.value, now, actor);
        if (isRefusal(released)) throw new RefusedError(released); // it cleared by itself meanwhile
        const events = eventWrites(recoveryEvents(item.value, released, now), now, `release-${released.epoch}`);
        try {
          await core.withRetry(() => core.store.commit(restampEvents([{ key: MASTER_KEY, expect: item.version, put: released }, ...events], clock.now())));
        } catch (err) {
          if (err instanceof ConflictError) continue;
          throw err;
        }
        const wouldMark = wouldMarkAt(item.value, now);
        core.log('recovery hold released', { by: actor.by, reason: actor.reason, wouldMark: wouldMark.length });
        return { master: released, wouldMark, dryRun: false };
      }
      throw new RefusedError(refuse('conflict', 'the master record kept changing; try again'));
    },

    /** The event log's events stamped in [from, to) after the id `after`, in id order (docs/design.md, "Events"). */
    async *events(from: number, to: number, after = ''): AsyncGenerator<LoggedEvent> {
      for await (const { id, event } of eventsBetween((prefix) => core.scan<RegistryEvent>(prefix), from, to, after)) yield { id, event };
    },

    /** Every record, for backup and inspection, without secret hashes (nor the event log: not the registry's state). */
    async *exportRegistry(): AsyncGenerator<{ key: string; version: string; value: unknown }> {
      for await (const item of core.scan<unknown>('')) {
        // The event log is streamed, not backed up; ticket signing keys never leave the registry (a
        // restored registry makes new ones, and tickets signed before fall back to a store read).
        if (item.key.startsWith(EVENT_PREFIX) || item.key === TICKET_KEYS_KEY) continue;
        const value = item.key.startsWith(AGENT_PREFIX)
          ? agentView(item.value as AgentRecord)
          : item.key.startsWith(FRAMEWORK_PREFIX) ? frameworkView(item.value as FrameworkRecord) : item.value;
        yield { key: item.key, version: item.version, value };
      }
    },
  };
}
