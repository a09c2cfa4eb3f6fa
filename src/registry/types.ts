// The registry's records (DESIGN.md, "Records"). Times are milliseconds since the epoch, from the
// caller: nothing in src/registry reads a clock or does I/O.

export type AgentStatus = 'admitted' | 'unreachable' | 'gone';

export interface AgentInfo {
  hostname: string;
  port: number;
  resources: Record<string, number | string>;
  attributes: Record<string, string>;
  version: string;
  machineId?: string;
}

export interface AgentEvent {
  at: number;
  type: string;
  by: string;
  reason?: string;
}

export interface Drain {
  state: 'draining' | 'drained';
  /** When the grace period ends; absent means no limit. */
  deadline?: number;
  /** Mark the agent gone once it is drained (Mesos' mark_gone). */
  markGone?: boolean;
}

export interface AgentRecord {
  id: string;
  info: AgentInfo;
  status: AgentStatus;
  /** The master epoch the agent last registered or re-registered in. */
  epoch: number;
  registeredAt: number;
  lastSeenAt: number;
  unreachableAt?: number;
  goneAt?: number;
  drain?: Drain;
  deactivated: boolean;
  secretHash: string;
  /** Set by the registrar on every write, to recognise its own write after an unknown outcome. */
  lastRequestId: string;
  events: AgentEvent[];
}

export type RecoveryState = 'recovering' | 'held' | 'done';

/** Marking held by the guard of rule 4: what it holds back, and why. */
export interface Hold {
  reason: string;
  since: number;
}

/** The liveness guard's hold also keeps the count of recent marks it began with (rule 4). */
export interface LivenessHold extends Hold {
  recentMarks: number;
}

export interface Recovery {
  /** 'held' whenever either hold below is in force. */
  state: RecoveryState;
  /** End of the re-registration window; kept after it closes, as the time old-epoch agents became overdue. */
  deadline?: number;
  /** Admitted agents when the window opened (or the hold began): the base of the unreachable limit. */
  admittedAtOpen?: number;
  heldReason?: string;
  /** Agents that missed the window, held at its close (counted against admittedAtOpen). */
  windowHold?: Hold;
  /** Silent agents of the current epoch, held by the guard over the trailing period. */
  livenessHold?: LivenessHold;
  /** When an operator last released a hold: agents overdue by then are marked without the guard. */
  releasedAt?: number;
  releasedBy?: string;
  releaseReason?: string;
}

/** Marks made in the current rate-limit window (rule 10). */
export interface MarkBudget {
  windowStart: number;
  used: number;
}

export interface MasterRecord {
  epoch: number;
  leaseExpiresAt: number;
  lastSweepAt: number;
  livenessFloor: number;
  recovery: Recovery;
  startedAt: number;
  markBudget?: MarkBudget;
  /** Marks of the last `trailingPeriod(policy)`, a count per sweep that marked (rule 4's guard). */
  recentMarks?: { at: number; count: number }[];
  /**
   * The registry's agents by status as the last sweep left them: read without a scan. The sweep
   * counts its planned marks and prunes as done; one that does not land is recounted by the next.
   */
  counts?: Record<AgentStatus, number>;
  /** Admitted agents not yet re-registered in an open or held window (`isPending`), counted with `counts`. */
  pending?: number;
  /** When `counts` and `pending` were counted: the `lastSweepAt` of the sweep that counted them. */
  countsAt?: number;
  /**
   * The earliest moment the last scan found anything could fall due (an agent overdue, a record to
   * prune), capped at one granularity after it: sweeps before it renew the lease without a scan.
   */
  nextScanAt?: number;
  /** Frameworks by status as the last scanning sweep judged them (its verdicts and prunes counted as done). */
  frameworkCounts?: { active: number; disconnected: number; completed: number };
}

/** The rules' parameters, all durations in milliseconds (DESIGN.md, "Configuration"). */
export interface Policy {
  heartbeatInterval: number;
  agentTimeout: number;
  livenessGranularity: number;
  masterLease: number;
  reregisterTimeout: number;
  sweepInterval: number;
  maxClockSkew: number;
  /** A share, 0..1. */
  recoveryUnreachableLimit: number;
  recoveryUnreachableMinimum: number;
  unreachableRateLimit?: { count: number; per: number };
  registryRetention: number;
  registryMaxEntries: number;
  /** New agents are refused once this many are admitted (as the last sweep counted them). */
  maxAgents: number;
}

export const EVENTS_KEPT = 10;

/** Why a transition cannot happen; the HTTP layer turns each code into its status. */
export type RefusalCode =
  | 'gone' // 410
  | 'reregister' // 409
  | 'unknown-agent' // 404
  | 'unknown-framework' // 404
  | 'unauthorized' // 401
  | 'secret-mismatch' // 403
  | 'machine-in-use' // 409 with Retry-After
  | 'registry-full' // 429 with Retry-After
  | 'not-held' // 409
  | 'conflict' // 409
  | 'invalid'; // 400

export interface Refusal {
  refused: RefusalCode;
  message: string;
  /** For 'reregister': the epoch to re-register in. */
  epoch?: number;
  /** For 'machine-in-use': when the older agent would be overdue. */
  retryAfterSeconds?: number;
}

export const refuse = (refused: RefusalCode, message: string, extra: Partial<Refusal> = {}): Refusal => ({ refused, message, ...extra });
export const isRefusal = (x: unknown): x is Refusal => typeof x === 'object' && x !== null && 'refused' in x;
