// Pure transitions of one framework record (DESIGN.md, "Frameworks"): schedulers are recorded like
// agents, so that one that dies while no master runs is noticed too. Each transition returns the new
// record, the same object when nothing changes (so callers skip the write), or a Refusal.
import { appendEvent, livenessWriteDue, type Actor } from './agent.ts';
import { refuse, type AgentEvent, type Policy, type Refusal } from './types.ts';

export type FrameworkStatus = 'active' | 'disconnected' | 'completed';

/** What a scheduler says about itself (Mesos' FrameworkInfo, the fields this registry keeps). */
export interface FrameworkInfo {
  name: string;
  user?: string;
  roles?: string[];
  principal?: string;
  hostname?: string;
  webuiUrl?: string;
  capabilities?: string[];
}

export interface FrameworkRecord {
  id: string;
  info: FrameworkInfo;
  status: FrameworkStatus;
  /** The master epoch the framework last registered or re-registered in. */
  epoch: number;
  registeredAt: number;
  lastSeenAt: number;
  /** How long a disconnected framework may take to re-register before it is completed (Mesos' failover_timeout). */
  failoverTimeoutSeconds: number;
  disconnectedAt?: number;
  completedAt?: number;
  secretHash: string;
  /** Set by the registrar on every write, to recognise its own write after an unknown outcome. */
  lastRequestId: string;
  events: AgentEvent[];
}

const completed = (record: FrameworkRecord) => refuse('gone', `framework ${record.id} was completed (torn down)`);

export interface FrameworkRegistration {
  id: string;
  info: FrameworkInfo;
  failoverTimeoutSeconds: number;
  secretHash: string;
  epoch: number;
  now: number;
  by: string;
}

/** A new framework, active in the current epoch. */
export function registerFramework(r: FrameworkRegistration): FrameworkRecord {
  const record: FrameworkRecord = {
    id: r.id,
    info: r.info,
    status: 'active',
    epoch: r.epoch,
    registeredAt: r.now,
    lastSeenAt: r.now,
    failoverTimeoutSeconds: r.failoverTimeoutSeconds,
    secretHash: r.secretHash,
    lastRequestId: '',
    events: [],
  };
  return appendEvent(record, r.now, 'registered', { by: r.by });
}

export interface FrameworkReregistration {
  /** Absent: the framework keeps the info it has. */
  info?: FrameworkInfo;
  failoverTimeoutSeconds?: number;
  epoch: number;
  now: number;
  /** A new secret's hash: a new scheduler instance taking over locks the previous one out. */
  secretHash?: string;
  by: string;
}

/**
 * Joins the current epoch again: after a master failover, after a disconnection (within the failover
 * timeout), or as a new scheduler instance taking over the same framework id. Completed is final.
 */
export function reregisterFramework(record: FrameworkRecord, r: FrameworkReregistration): FrameworkRecord | Refusal {
  if (record.status === 'completed') return completed(record);
  const wasDisconnected = record.status === 'disconnected';
  const { disconnectedAt: _dropped, ...rest } = record;
  const next: FrameworkRecord = {
    ...rest,
    info: r.info ?? record.info,
    status: 'active',
    epoch: r.epoch,
    lastSeenAt: r.now,
    failoverTimeoutSeconds: r.failoverTimeoutSeconds ?? record.failoverTimeoutSeconds,
    secretHash: r.secretHash ?? record.secretHash,
  };
  const reason = r.secretHash ? { reason: 'a new scheduler instance took over (secret rotated)' } : {};
  return appendEvent(next, r.now, wasDisconnected ? 'reconnected' : 'reregistered', { by: r.by, ...reason });
}

/**
 * A registration naming an existing framework with its own secret: a retry whose answer was lost
 * changes nothing; otherwise it is a re-registration.
 */
export function registerExistingFramework(record: FrameworkRecord, r: FrameworkReregistration): FrameworkRecord | Refusal {
  if (record.status === 'completed') return completed(record);
  const same = JSON.stringify(record.info) === JSON.stringify(r.info ?? record.info) &&
    record.failoverTimeoutSeconds === (r.failoverTimeoutSeconds ?? record.failoverTimeoutSeconds);
  if (record.status === 'active' && record.epoch === r.epoch && same) return record;
  return reregisterFramework(record, r);
}

export interface FrameworkHeartbeat {
  /** The epoch the framework believes in. */
  epoch: number;
  /** The current master epoch. */
  masterEpoch: number;
  now: number;
}

/** Rule 2 for frameworks: a lastSeenAt write at most once per granularity; refusals as for agents. */
export function acceptFrameworkHeartbeat(record: FrameworkRecord, hb: FrameworkHeartbeat, policy: Pick<Policy, 'livenessGranularity'>): FrameworkRecord | Refusal {
  if (record.status === 'completed') return completed(record);
  if (record.status === 'disconnected') {
    return refuse('reregister', `framework ${record.id} was disconnected; re-register within its failover timeout`, { epoch: hb.masterEpoch });
  }
  if (record.epoch !== hb.masterEpoch || hb.epoch !== hb.masterEpoch) {
    return refuse('reregister', `the master is in epoch ${hb.masterEpoch}; re-register`, { epoch: hb.masterEpoch });
  }
  return livenessWriteDue(record, hb.now, policy) ? { ...record, lastSeenAt: hb.now } : record;
}

/** Teardown (by the framework or an operator): completed, final and idempotent (as `gone`). */
export function teardownFramework(record: FrameworkRecord, now: number, actor: Actor): FrameworkRecord {
  if (record.status === 'completed') return record;
  return appendEvent({ ...record, status: 'completed', completedAt: now }, now, 'teardown', actor);
}

/** A framework tearing itself down: once completed, it is told so (410), as a gone agent is. */
export function selfTeardownAllowed(record: FrameworkRecord): true | Refusal {
  return record.status === 'completed' ? completed(record) : true;
}

/** The sweeper's verdict on a silent framework, or one that missed the re-registration window. */
export function markDisconnected(record: FrameworkRecord, now: number, actor: Actor): FrameworkRecord {
  if (record.status !== 'active') return record;
  return appendEvent({ ...record, status: 'disconnected', disconnectedAt: now }, now, 'disconnected', actor);
}

/** The sweeper's verdict on a disconnected framework whose failover timeout has passed. */
export function markCompleted(record: FrameworkRecord, now: number, actor: Actor): FrameworkRecord {
  if (record.status !== 'disconnected') return record;
  return appendEvent({ ...record, status: 'completed', completedAt: now }, now, 'completed', actor);
}
