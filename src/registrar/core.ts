// The registrar applies the registry's pure transitions to a Store with conditional writes: every
// agent write expects the version it read, carries a request id, is retried on conflict (bounded)
// and on transient store errors (with backoff, up to a deadline), and is never reported done unless
// the store proves it (DESIGN.md, Semantics 8 and 11).
import type { Clock } from '../clock.ts';
import { isRefusal, type AgentEvent, type AgentRecord, type FrameworkRecord, type MasterRecord, type Policy, type Refusal } from '../registry/index.ts';
import { systemEntropy, type Entropy } from '../secrets.ts';
import { ConflictError, StoreUnavailableError, isPut, listAll, listPages, type Item, type Store, type Version, type Write } from '../store.ts';
import { agentEvents, appendedEvents, eventWrites, newestEvent, restampEvents, stampAfter, type RegistryEvent } from './events.ts';

export const MASTER_KEY = 'master';
export const AGENT_PREFIX = 'agents/';
export const MACHINE_PREFIX = 'machines/';
/** What pruning leaves of an agent, so that its id is never admitted again (rule 8). */
export const TOMBSTONE_PREFIX = 'tombstones/';
export const FRAMEWORK_PREFIX = 'frameworks/';
export const agentKey = (id: string) => `${AGENT_PREFIX}${id}`;
export const frameworkKey = (id: string) => `${FRAMEWORK_PREFIX}${id}`;
export const machineKey = (machineId: string) => `${MACHINE_PREFIX}${machineId}`;
export const tombstoneKey = (id: string) => `${TOMBSTONE_PREFIX}${id}`;

/** A transition refused by the rules (410, 409, 404, ...): nothing was written. */
export class RefusedError extends Error {
  override name = 'RefusedError';
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(refusal.message);
    this.refusal = refusal;
  }
}

/** No sweeper has written the `master` record yet (503 with Retry-After). */
export class NoMasterError extends Error {
  override name = 'NoMasterError';
  constructor() {
    super('no master record yet: the first sweep has not run');
  }
}

export type Log = (message: string, fields?: Record<string, unknown>) => void;

export interface RegistrarDeps {
  store: Store;
  clock: Clock;
  policy: Policy;
  log?: Log;
  /** Ids, secrets and jitter; the system's by default. */
  entropy?: Entropy;
  /** How many times a write re-reads after a conflict before giving up with 503. */
  maxConflictRetries?: number;
  /** How long a call keeps retrying transient store errors. */
  retryDeadlineMs?: number;
}

/** A decision about one record: the record to write, the same record (no write), a delete, or a refusal. */
export type Decision<R = AgentRecord> = R | Refusal | { delete: true };
/** What `changeRecord` needs of a record: its writer's request id (rule 11) and its last events. */
interface Changeable {
  lastRequestId: string;
  events: AgentEvent[];
}

/** More writes for the same commit (an index, another agent). */
export type WithWrites<D> = D & { writes?: Write[] };

export interface Change<R = AgentRecord> {
  /** The record now in the store (undefined after a delete). */
  record: R | undefined;
  written: boolean;
  /** The record's version in the store (undefined after a delete, or when a lost outcome was read back). */
  version?: Version;
}

export interface ChangeOptions<R> {
  /**
   * What the caller already knows of the record, to decide on without reading it first: an item this
   * instance read or wrote, or 'absent' for an id generated here. The write still expects that
   * version, so a record changed since only costs a conflict, then a read and a new decision.
   */
  known?: Item<R> | 'absent';
}

export interface RegistrarCore {
  store: Store;
  clock: Clock;
  policy: Policy;
  log: Log;
  entropy: Entropy;
  withRetry<R>(fn: () => Promise<R>): Promise<R>;
  currentMaster(opts?: { fresh?: boolean }): Promise<Item<MasterRecord>>;
  /** The current epoch (see the function), read afresh when `held`, a record's epoch, is newer. */
  currentEpoch(held?: number): Promise<number>;
  /** This instance wrote the master record: its cache holds the new one. */
  rememberMaster(item: Item<MasterRecord>): void;
  readAgent(id: string): Promise<Item<AgentRecord> | undefined>;
  changeAgent(
    id: string,
    decide: (current: AgentRecord | undefined) => Promise<WithWrites<Decision>> | WithWrites<Decision>,
    opts?: ChangeOptions<AgentRecord>,
  ): Promise<Change>;
  readFramework(id: string): Promise<Item<FrameworkRecord> | undefined>;
  changeFramework(
    id: string,
    decide: (current: FrameworkRecord | undefined) => Promise<WithWrites<Decision<FrameworkRecord>>> | WithWrites<Decision<FrameworkRecord>>,
  ): Promise<Change<FrameworkRecord>>;
  scan<T>(prefix: string, pageSize?: number): AsyncGenerator<Item<T>>;
  /** The same, a page at a time: for the sweep's scan of every agent. */
  scanPages<T>(prefix: string, pageSize?: number): AsyncGenerator<Item<T>[]>;
}

export function createRegistrarCore(deps: RegistrarDeps): RegistrarCore {
  const { store, clock, policy } = deps;
  const log: Log = deps.log ?? (() => {});
  const entropy = deps.entropy ?? systemEntropy;
  const maxConflictRetries = deps.maxConflictRetries ?? 10;
  const retryDeadlineMs = deps.retryDeadlineMs ?? 3_000;
  let cachedMaster: { item: Item<MasterRecord>; readAt: number } | undefined;

  /** Runs a store call, retrying transient failures that certainly did not apply, with full-jitter backoff. */
  async function withRetry<R>(fn: () => Promise<R>): Promise<R> {
    const deadline = clock.now() + retryDeadlineMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retryable = err instanceof StoreUnavailableError && err.outcome === 'not-applied';
        if (!retryable || clock.now() >= deadline) throw err;
        await clock.sleep(entropy.fraction() * Math.min(1_000, 25 * 2 ** attempt));
      }
    }
  }

  /** The master record, cached for at most maxClockSkew (rule 3). */
  async function currentMaster(opts: { fresh?: boolean } = {}): Promise<Item<MasterRecord>> {
    const now = clock.now();
    if (!opts.fresh && cachedMaster && now - cachedMaster.readAt <= policy.maxClockSkew) return cachedMaster.item;
    const item = await withRetry(() => store.get<MasterRecord>(MASTER_KEY));
    if (!item) throw new NoMasterError();
    cachedMaster = { item, readAt: now };
    return item;
  }

  /**
   * The current epoch, for agents' and frameworks' requests. The cached master's epoch holds while
   * its lease does by this instance's clock, however old the cache: a new epoch starts only when a
   * sweeper's clock is past the latest lease by more than maxClockSkew (rule 3), and each renewal
   * moves the lease later, so until this instance's clock passes the cached lease no other epoch
   * exists. Beyond that, the master is cached for at most maxClockSkew as for anything else. So an
   * instance reads `master` about once a lease, not once per maxClockSkew (issue 13). A record the
   * caller holds in a newer epoch than that reads it afresh: never send one back to the epoch it left.
   */
  async function currentEpoch(held?: number): Promise<number> {
    const leased = cachedMaster && clock.now() <= cachedMaster.item.value.leaseExpiresAt ? cachedMaster.item.value.epoch : undefined;
    const epoch = leased ?? (await currentMaster()).value.epoch;
    return held !== undefined && held > epoch ? (await currentMaster({ fresh: true })).value.epoch : epoch;
  }

  const rememberMaster = (item: Item<MasterRecord>) => {
    cachedMaster = { item, readAt: clock.now() };
  };

  const readAgent = (id: string) => withRetry(() => store.get<AgentRecord>(agentKey(id)));
  const readFramework = (id: string) => withRetry(() => store.get<FrameworkRecord>(frameworkKey(id)));

  /** What differs between the kinds of record `changeRecord` writes. */
  interface RecordKind<R extends Changeable> {
    name: 'agent' | 'framework';
    key(id: string): string;
    /** The event log's events for a change (in the same commit), given the commit's other writes. */
    events(id: string, before: R | undefined, next: R | undefined, extra: Write[], now: number): RegistryEvent[];
    /** Log lines for a change that landed. */
    logged(id: string, before: R | undefined, next: R | undefined, extra: Write[]): void;
  }

  // Another agent written in the same commit (a replaced machine's older agent) adds its newest event.
  const otherAgents = (extra: Write[]) =>
    extra.flatMap((w) => (w.key.startsWith(AGENT_PREFIX) && isPut(w) ? [{ id: w.key.slice(AGENT_PREFIX.length), record: w.put as AgentRecord }] : []));

  const agentKind: RecordKind<AgentRecord> = {
    name: 'agent',
    key: agentKey,
    events: (id, before, next, extra, now) => [...agentEvents(id, before, next, now), ...otherAgents(extra).flatMap((o) => newestEvent(o.id, o.record))],
    logged(id, before, next, extra) {
      logEvents('agent', id, before?.events ?? [], next?.events ?? []);
      for (const o of otherAgents(extra)) logEvents('agent', o.id, [], o.record.events.slice(-1));
    },
  };

  // Framework transitions are in their record's events and the log, not (yet) in the event log.
  const frameworkKind: RecordKind<FrameworkRecord> = {
    name: 'framework',
    key: frameworkKey,
    events: () => [],
    logged: (id, before, next) => logEvents('framework', id, before?.events ?? [], next?.events ?? []),
  };

  /**
   * Reads a record (or takes the one the caller knows), lets `decide` choose, and writes the choice
   * expecting that version. On a conflict it reads and decides again. After an unknown outcome it
   * answers only from what the store shows: its own request id in the record, or (for a delete) no
   * record.
   */
  async function changeRecord<R extends Changeable>(
    kind: RecordKind<R>,
    id: string,
    decide: (current: R | undefined) => Promise<WithWrites<Decision<R>>> | WithWrites<Decision<R>>,
    opts: ChangeOptions<R> = {},
  ): Promise<Change<R>> {
    const key = kind.key(id);
    const read = () => withRetry(() => store.get<R>(key));
    for (let attempt = 0; attempt <= maxConflictRetries; attempt++) {
      const known = attempt === 0 ? opts.known : undefined;
      const item = known === 'absent' ? undefined : (known ?? (await read()));
      const decision = await decide(item?.value);
      // Only a write proves a known record current: a refusal or an answer without one reads first.
      if (known !== undefined && (isRefusal(decision) || decision === item?.value)) continue;
      if (isRefusal(decision)) throw new RefusedError(decision);
      if (decision === item?.value) return { record: item?.value, written: false, ...(item ? { version: item.version } : {}) };
      const requestId = entropy.id();
      const { writes: extra = [], ...chosen } = decision as WithWrites<R | { delete: true }>;
      const next = 'delete' in chosen ? undefined : ({ ...chosen, lastRequestId: requestId } as unknown as R);
      const own: Write = next
        ? { key, expect: item?.version ?? 'absent', put: next }
        : { key, expect: item?.version ?? 'any', delete: true };
      const written = (version?: Version) => {
        kind.logged(id, item?.value, next, extra);
        return { record: next, written: true, ...(version ? { version } : {}) };
      };
      // The change's events go to the event log in the same commit; each attempt is stamped as it is sent.
      const now = clock.now();
      const writes = [own, ...extra, ...eventWrites(kind.events(id, item?.value, next, extra, now), now, requestId)];
      try {
        const versions = await withRetry(() => store.commit(restampEvents(writes, stampAfter(clock.now(), item?.value.events.at(-1)?.at))));
        return written(versions[key]);
      } catch (err) {
        if (err instanceof ConflictError) continue;
        if (err instanceof StoreUnavailableError && err.outcome === 'unknown') {
          const after = await read();
          if (next ? after?.value.lastRequestId === requestId : after === undefined) return written(after?.version);
          throw new StoreUnavailableError(`the outcome of the write to ${kind.name} ${id} is unknown`, { outcome: 'unknown', cause: err });
        }
        throw err;
      }
    }
    throw new StoreUnavailableError(`${kind.name} ${id} kept changing over ${maxConflictRetries} attempts`);
  }

  const changeAgent: RegistrarCore['changeAgent'] = (id, decide, opts) => changeRecord(agentKind, id, decide, opts);
  const changeFramework: RegistrarCore['changeFramework'] = (id, decide) => changeRecord(frameworkKind, id, decide);

  /** Every event a write added to a record also goes to the log (DESIGN.md, operator API). */
  function logEvents(kind: 'agent' | 'framework', id: string, before: AgentEvent[], after: AgentEvent[]): void {
    for (const e of appendedEvents(before, after)) log(`${kind} ${e.type}`, { [`${kind}Id`]: id, at: e.at, by: e.by, ...(e.reason ? { reason: e.reason } : {}) });
  }

  /** Every item under a prefix, each page read with the same retries. */
  const retried: Store = { ...store, list: (p, o) => withRetry(() => store.list(p, o)) };
  const scan = <T>(prefix: string, pageSize = 1000) => listAll<T>(retried, prefix, pageSize);
  const scanPages = <T>(prefix: string, pageSize = 1000) => listPages<T>(retried, prefix, pageSize);

  return { store, clock, policy, log, entropy, withRetry, currentMaster, currentEpoch, rememberMaster, readAgent, changeAgent, readFramework, changeFramework, scan, scanPages };
}
