// The event log (docs/design.md, "Events"): every agent transition and recovery transition also
// writes a record `events/<stamp>-<tag>-<n>` in the same commit as the change that causes it, so a
// stream on any runtime reads it back from the store alone. Stamps are the writer's clock when the
// commit is sent, zero-padded so that keys sort by time; a reader only trusts stamps older than the
// settle time (clock skew plus one commit), and reads aligned decimal prefixes of the stamp, so it
// needs no ordered listing from the store.
import type { AgentEvent, AgentRecord, MasterRecord, Policy } from '../registry/index.ts';
import { isPut, type Item, type Write } from '../store.ts';

export const EVENT_PREFIX = 'events/';
/** How long events are kept, and so how far back a stream can resume. */
export const EVENT_RETENTION = 60 * 60_000;
/**
 * The longest a commit may take from its stamp until readers see it, beyond the clock skew. Each
 * attempt is stamped when it is sent, so this covers one store call, not the retries.
 */
export const COMMIT_GRACE = 5_000;
const STAMP_DIGITS = 15;

export type EventType =
  | 'AGENT_ADDED' | 'AGENT_REREGISTERED' | 'AGENT_UNREACHABLE' | 'AGENT_GONE' | 'AGENT_REMOVED'
  | 'AGENT_DRAINING' | 'AGENT_DRAINED' | 'AGENT_DEACTIVATED' | 'AGENT_REACTIVATED'
  | 'RECOVERY_STARTED' | 'RECOVERY_HELD' | 'RECOVERY_RELEASED' | 'RECOVERY_DONE';

/** What an event record holds: never a secret. */
export interface RegistryEvent {
  type: EventType;
  agentId?: string;
  epoch?: number;
  at: number;
  by?: string;
  reason?: string;
}

export interface LoggedEvent {
  /** The event's place in the log, `<stamp>-<tag>-<n>`: the SSE id. */
  id: string;
  event: RegistryEvent;
}

/** The record event types of src/registry, as the stream names them. */
const AGENT_EVENT_TYPES: Record<string, EventType> = {
  admitted: 'AGENT_ADDED',
  reregistered: 'AGENT_REREGISTERED',
  reachable: 'AGENT_REREGISTERED',
  unreachable: 'AGENT_UNREACHABLE',
  gone: 'AGENT_GONE',
  drain: 'AGENT_DRAINING',
  drained: 'AGENT_DRAINED',
  deactivate: 'AGENT_DEACTIVATED',
  reactivate: 'AGENT_REACTIVATED',
};

/** The events a write appended to a record's last-10 list (the list may have dropped old ones). */
export function appendedEvents(before: AgentEvent[], after: AgentEvent[]): AgentEvent[] {
  const last = before.at(-1);
  const from = last ? after.findLastIndex((e) => JSON.stringify(e) === JSON.stringify(last)) + 1 : 0;
  return after.slice(from);
}

/** The log's events for one agent's change: its new record events, or its removal (`leave`). */
export function agentEvents(agentId: string, before: AgentRecord | undefined, after: AgentRecord | undefined, now: number): RegistryEvent[] {
  if (!after) return before ? [{ type: 'AGENT_REMOVED', agentId, epoch: before.epoch, at: now, by: agentId }] : [];
  return appendedEvents(before?.events ?? [], after.events).flatMap((e) => {
    const type = AGENT_EVENT_TYPES[e.type];
    return type ? [{ type, agentId, epoch: after.epoch, at: e.at, by: e.by, ...(e.reason ? { reason: e.reason } : {}) }] : [];
  });
}

/** The log's event for the newest record event of an agent written beside another change (or by a sweep). */
export const newestEvent = (agentId: string, record: AgentRecord): RegistryEvent[] =>
  agentEvents(agentId, { ...record, events: record.events.slice(0, -1) }, record, record.events.at(-1)?.at ?? 0);

/**
 * The stamp for a change of an agent whose newest event was at `previousAt`: never earlier, so that an
 * agent's events stay in order in the log even when two land within one millisecond.
 */
export const stampAfter = (now: number, previousAt: number | undefined) => Math.max(now, previousAt === undefined ? 0 : previousAt + 1);

/** The log's events for a change of `master`: a new epoch's window, a hold, its release, the end. */
export function recoveryEvents(before: MasterRecord | undefined, after: MasterRecord, now: number): RegistryEvent[] {
  const was = before?.recovery.state;
  const is = after.recovery.state;
  const { epoch } = after;
  const events: RegistryEvent[] = [];
  if (before?.epoch !== epoch && is !== 'done') events.push({ type: 'RECOVERY_STARTED', epoch, at: now, by: 'master' });
  if (was !== 'held' && is === 'held') events.push({ type: 'RECOVERY_HELD', epoch, at: now, by: 'master', ...(after.recovery.heldReason ? { reason: after.recovery.heldReason } : {}) });
  if (was === 'held' && is !== 'held') {
    const operator = after.recovery.releasedAt !== before?.recovery.releasedAt;
    const reason = operator ? after.recovery.releaseReason : undefined;
    events.push({ type: 'RECOVERY_RELEASED', epoch, at: now, by: operator ? after.recovery.releasedBy ?? 'operator' : 'master', ...(reason ? { reason } : {}) });
  }
  if (was !== undefined && was !== 'done' && is === 'done') events.push({ type: 'RECOVERY_DONE', epoch, at: now, by: 'master' });
  return events;
}

const stampOf = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(STAMP_DIGITS, '0');

/** Puts of new event records, stamped `stamp`; `tag` is unique to the commit (a request id). */
export function eventWrites(events: RegistryEvent[], stamp: number, tag: string): Write[] {
  return events.map((event, n) => ({ key: `${EVENT_PREFIX}${stampOf(stamp)}-${tag}-${String(n).padStart(2, '0')}`, expect: 'absent', put: event }));
}

/**
 * The same writes with their new events (puts; a prune's deletes keep their keys) stamped `now`: called as each attempt is sent, so that a stamp
 * is never older than its commit's attempt (the reader's settle time relies on it). Sizes are unchanged.
 */
export function restampEvents(writes: Write[], now: number): Write[] {
  const stamp = stampOf(now);
  return writes.map((w) => (w.key.startsWith(EVENT_PREFIX) && isPut(w) ? { ...w, key: `${EVENT_PREFIX}${stamp}${w.key.slice(EVENT_PREFIX.length + STAMP_DIGITS)}` } : w));
}

/** How old a stamp must be before a reader may trust that every event up to it is visible. */
export const settleTime = (policy: Pick<Policy, 'maxClockSkew'>) => policy.maxClockSkew + COMMIT_GRACE;

const ID_PATTERN = /^(\d{15})-([0-9A-Za-z_-]{0,120})$/;

/** The stamp of an event id (or of a position id `<stamp>-`), or undefined when it is not one. */
export function stampOfId(id: string): number | undefined {
  const m = ID_PATTERN.exec(id);
  return m ? Number(m[1]) : undefined;
}

/** The position just before every event stamped `stamp` or later: resuming from it misses none of them. */
export const positionId = (stamp: number) => `${stampOf(stamp)}-`;

/**
 * The key prefixes covering stamps in [from, to): aligned decimal blocks, largest first, each listed
 * once. An hour is a few dozen prefixes; one aligned second is one.
 */
export function stampPrefixes(from: number, to: number): string[] {
  const prefixes: string[] = [];
  let at = Math.max(0, Math.floor(from));
  const end = Math.floor(to);
  while (at < end) {
    let digits = 0;
    while (digits < STAMP_DIGITS && at % 10 ** (digits + 1) === 0 && at + 10 ** (digits + 1) <= end) digits++;
    prefixes.push(`${EVENT_PREFIX}${stampOf(at).slice(0, STAMP_DIGITS - digits)}`);
    at += 10 ** digits;
  }
  return prefixes;
}

/** The log is pruned in aligned blocks of this many milliseconds (one key prefix each, about 17 min). */
export const PRUNE_BLOCK = 1_000_000;

/**
 * The stretch [start, end) of whole blocks whose end lies in (after, upTo]: what a prune over that
 * stretch deletes, or undefined when no block ends in it. It is listed as one stretch, in aligned
 * prefixes, so the first sweep after a month without a master lists the log a few dozen times, not
 * once for each of its 2,592 blocks.
 */
export function expiredStretch(after: number, upTo: number): [number, number] | undefined {
  const start = Math.floor(after / PRUNE_BLOCK) * PRUNE_BLOCK;
  const end = Math.floor(upTo / PRUNE_BLOCK) * PRUNE_BLOCK;
  return end > start ? [start, end] : undefined;
}

/**
 * The events stamped in [from, to) with ids after `after`, in id order, a prefix at a time: the
 * store may list in any order, so each prefix's items are sorted before they are yielded.
 */
export async function* eventsBetween(
  scan: (prefix: string) => AsyncIterable<Item<RegistryEvent>>,
  from: number,
  to: number,
  after = '',
): AsyncGenerator<LoggedEvent & { version: string }> {
  for (const prefix of stampPrefixes(from, to)) {
    const items: Item<RegistryEvent>[] = [];
    for await (const item of scan(prefix)) items.push(item);
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { key, value, version } of items) {
      const id = key.slice(EVENT_PREFIX.length);
      if (id > after) yield { id, event: value, version };
    }
  }
}
