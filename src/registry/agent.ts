// Pure transitions of one agent record (DESIGN.md, Semantics 1, 2, 7, 8, 9). Each returns the new
// record, the same object when nothing changes (so callers skip the write), or a Refusal.
import { EVENTS_KEPT, refuse, type AgentEvent, type AgentInfo, type AgentRecord, type Policy, type Refusal } from './types.ts';

export interface Actor {
  by: string;
  reason?: string;
}

export function withEvent(record: AgentRecord, at: number, type: string, actor: Actor): AgentRecord {
  return appendEvent(record, at, type, actor);
}

/** Any record's last-10 events, with one more (agents' and frameworks'). */
export function appendEvent<R extends { events: AgentEvent[] }>(record: R, at: number, type: string, actor: Actor): R {
  const event: AgentEvent = { at, type, by: actor.by, ...(actor.reason ? { reason: actor.reason } : {}) };
  return { ...record, events: [...record.events, event].slice(-EVENTS_KEPT) };
}

export interface Admission {
  id: string;
  info: AgentInfo;
  secretHash: string;
  epoch: number;
  now: number;
  by: string;
}

/** Rule 1: a new agent, admitted in the current epoch. */
export function admitAgent(a: Admission): AgentRecord {
  const record: AgentRecord = {
    id: a.id,
    info: a.info,
    status: 'admitted',
    epoch: a.epoch,
    registeredAt: a.now,
    lastSeenAt: a.now,
    deactivated: false,
    secretHash: a.secretHash,
    lastRequestId: '',
    events: [],
  };
  return withEvent(record, a.now, 'admitted', { by: a.by });
}

export interface Reregistration {
  info: AgentInfo;
  epoch: number;
  now: number;
  /** A new secret's hash when the agent rotates its secret. */
  secretHash?: string;
  by: string;
}

/** Rules 3 and 7: an agent joins the current epoch again; an unreachable one becomes reachable. */
export function reregisterAgent(record: AgentRecord, r: Reregistration): AgentRecord | Refusal {
  if (record.status === 'gone') return refuse('gone', `agent ${record.id} was marked gone`);
  const wasUnreachable = record.status === 'unreachable';
  const { unreachableAt: _dropped, ...rest } = record;
  const next: AgentRecord = {
    ...rest,
    info: r.info,
    status: 'admitted',
    epoch: r.epoch,
    lastSeenAt: r.now,
    secretHash: r.secretHash ?? record.secretHash,
  };
  return withEvent(next, r.now, wasUnreachable ? 'reachable' : 'reregistered', { by: r.by });
}

/**
 * A registration that names an existing agent with its own secret: a retry of a registration
 * whose answer was lost changes nothing; otherwise it is a re-registration.
 */
export function registerExisting(record: AgentRecord, r: Reregistration): AgentRecord | Refusal {
  if (record.status === 'gone') return refuse('gone', `agent ${record.id} was marked gone`);
  if (record.status === 'admitted' && record.epoch === r.epoch && sameInfo(record.info, r.info)) return record;
  return reregisterAgent(record, r);
}

const sameInfo = (a: AgentInfo, b: AgentInfo) => JSON.stringify(a) === JSON.stringify(b);

export interface Heartbeat {
  /** The epoch the agent believes in. */
  epoch: number;
  /** The current master epoch. */
  masterEpoch: number;
  now: number;
  /** The agent reports that its work has stopped. */
  drained?: boolean;
}

export interface Instructions {
  drain?: { state: 'draining' | 'drained'; remainingSeconds?: number };
  deactivated: boolean;
}

/** What an agent is told with every accepted heartbeat: durations, never absolute times. */
export function instructionsFor(record: Pick<AgentRecord, 'drain' | 'deactivated'>, now: number): Instructions {
  const { drain } = record;
  if (!drain) return { deactivated: record.deactivated };
  const remaining = drain.state === 'draining' && drain.deadline !== undefined
    ? { remainingSeconds: Math.max(0, Math.ceil((drain.deadline - now) / 1000)) }
    : {};
  return { drain: { state: drain.state, ...remaining }, deactivated: record.deactivated };
}

/** A lastSeenAt write is due at most once per granularity (rule 2). */
export const livenessWriteDue = (record: Pick<AgentRecord, 'lastSeenAt'>, now: number, policy: Pick<Policy, 'livenessGranularity'>) =>
  now - record.lastSeenAt >= policy.livenessGranularity;

/** Rule 3: a heartbeat from an epoch other than the master's current one re-registers. */
export const otherEpoch = (masterEpoch: number) => refuse('reregister', `the master is in epoch ${masterEpoch}; re-register`, { epoch: masterEpoch });

/** Rule 2 (and 3, 7, 8 for refusals): the record after a heartbeat, or why it is refused. */
export function acceptHeartbeat(record: AgentRecord, hb: Heartbeat, policy: Pick<Policy, 'livenessGranularity'>): AgentRecord | Refusal {
  if (record.status === 'gone') return refuse('gone', `agent ${record.id} was marked gone`);
  if (record.status === 'unreachable') {
    return refuse('reregister', `agent ${record.id} was marked unreachable; re-register`, { epoch: hb.masterEpoch });
  }
  if (record.epoch !== hb.masterEpoch || hb.epoch !== hb.masterEpoch) return otherEpoch(hb.masterEpoch);
  let next = record;
  if (hb.drained && record.drain?.state === 'draining') {
    next = withEvent({ ...next, drain: { ...record.drain, state: 'drained' } }, hb.now, 'drained', { by: record.id });
    if (record.drain.markGone) next = markGone(next, hb.now, { by: record.id, reason: 'drained with markGone' });
  }
  if (next !== record || livenessWriteDue(record, hb.now, policy)) {
    next = { ...next, lastSeenAt: hb.now };
  }
  return next;
}

/**
 * Rule 1: whether a registration naming a machine may replace the machine's older record. The join
 * token is shared by a fleet, so it never evicts a live agent: only an unreachable or overdue one,
 * or one whose secret the registration presents (`ownsOlder`).
 */
export function machineReplaceable(
  older: AgentRecord,
  r: { now: number; livenessFloor: number; ownsOlder: boolean },
  p: Pick<Policy, 'agentTimeout' | 'livenessGranularity'>,
): true | Refusal {
  if (older.status !== 'admitted' || r.ownsOlder) return true;
  const overdueAt = Math.max(older.lastSeenAt, r.livenessFloor) + p.agentTimeout + p.livenessGranularity;
  if (overdueAt < r.now) return true;
  return refuse('machine-in-use', `machine ${older.info.machineId} is in use by agent ${older.id}, which is live; present its secret as previousSecret, or retry once it is overdue`, {
    retryAfterSeconds: Math.max(1, Math.ceil((overdueAt - r.now) / 1000)),
  });
}

/** New agents are refused once the registry holds the maximum (a known agent may always come back). */
export function roomForAgent(admitted: number | undefined, p: Pick<Policy, 'maxAgents'>): true | Refusal {
  if (admitted === undefined || admitted < p.maxAgents) return true;
  return refuse('registry-full', `the registry holds ${admitted} admitted agents, its maximum (REGISTRAR_MAX_AGENTS); retry later`, { retryAfterSeconds: 60 });
}

/** Rule 8: gone is final and idempotent. */
export function markGone(record: AgentRecord, now: number, actor: Actor): AgentRecord {
  if (record.status === 'gone') return record;
  return withEvent({ ...record, status: 'gone', goneAt: now }, now, 'gone', actor);
}

/** Rule 2 and 4: the sweeper's verdict. */
export function markUnreachable(record: AgentRecord, now: number, actor: Actor): AgentRecord {
  if (record.status !== 'admitted') return record;
  return withEvent({ ...record, status: 'unreachable', unreachableAt: now }, now, 'unreachable', actor);
}

export interface DrainRequest {
  now: number;
  /** Grace period in ms; absent means no limit. */
  maxGracePeriod?: number;
  markGone?: boolean;
  actor: Actor;
}

/** Rule 9, as Mesos' DRAIN_AGENT: an already drained agent stays drained. */
export function drainAgent(record: AgentRecord, d: DrainRequest): AgentRecord | Refusal {
  if (record.status === 'gone') return refuse('gone', `agent ${record.id} was marked gone`);
  const state = record.drain?.state === 'drained' ? 'drained' : 'draining';
  const deadline = d.maxGracePeriod === undefined ? {} : { deadline: d.now + d.maxGracePeriod };
  const next = withEvent({ ...record, drain: { state, ...deadline, ...(d.markGone ? { markGone: true } : {}) } }, d.now, 'drain', d.actor);
  return state === 'drained' && d.markGone ? markGone(next, d.now, { ...d.actor, reason: d.actor.reason ?? 'drained with markGone' }) : next;
}

export function deactivateAgent(record: AgentRecord, now: number, actor: Actor): AgentRecord | Refusal {
  if (record.status === 'gone') return refuse('gone', `agent ${record.id} was marked gone`);
  if (record.deactivated) return record;
  return withEvent({ ...record, deactivated: true }, now, 'deactivate', actor);
}

/** Clears both drain and deactivation. */
export function reactivateAgent(record: AgentRecord, now: number, actor: Actor): AgentRecord | Refusal {
  if (record.status === 'gone') return refuse('gone', `agent ${record.id} was marked gone`);
  if (!record.deactivated && !record.drain) return record;
  const { drain: _cleared, ...rest } = record;
  return withEvent({ ...rest, deactivated: false }, now, 'reactivate', actor);
}

/** Rule 8: an agent leaving on purpose; a gone agent cannot. */
export function leaveAllowed(record: AgentRecord): true | Refusal {
  return record.status === 'gone' ? refuse('gone', `agent ${record.id} was marked gone`) : true;
}
