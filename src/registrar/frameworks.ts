// Frameworks on top of the registrar core (DESIGN.md, "Frameworks"): the scheduler's protocol
// (register, re-register, heartbeat, teardown) and the operator's (list, get, teardown). Every write
// is the core's conditional write with a request id (rules 8 and 11), as for agents.
import {
  acceptFrameworkHeartbeat, refuse, registerExistingFramework, registerFramework, reregisterFramework, selfTeardownAllowed, teardownFramework,
  type Actor, type FrameworkInfo, type FrameworkRecord, type FrameworkStatus, type Refusal,
} from '../registry/index.ts';
import { constantTimeEqual, hashSecret } from '../secrets.ts';
import type { Write } from '../store.ts';
import { FRAMEWORK_PREFIX, RefusedError, tombstoneKey, type RegistrarCore } from './core.ts';

export interface FrameworkRegistration {
  info: FrameworkInfo;
  /** Absent: 0 for a new framework (as Mesos), unchanged for a known one. */
  failoverTimeoutSeconds?: number;
  /** The framework token's label, for the audit trail. */
  by: string;
  /** A scheduler may choose its id and secret (saved before registering), to make retries idempotent. */
  frameworkId?: string;
  secret?: string;
}

export interface FrameworkRegistered {
  record: FrameworkRecord;
  secret: string;
  epoch: number;
}

/** What operators see of a framework: never its secret hash, nor the registrar's bookkeeping. */
export type FrameworkView = Omit<FrameworkRecord, 'secretHash' | 'lastRequestId'>;
export function frameworkView(record: FrameworkRecord): FrameworkView {
  const { secretHash: _s, lastRequestId: _r, ...view } = record;
  return view;
}

const unknownFramework = (id: string) => refuse('unknown-framework', `no framework ${id}: register afresh`);

/** The refusal for a request whose secret does not match, or undefined when it does. */
function authenticate(id: string, current: FrameworkRecord | undefined, secretHash: string): Refusal | undefined {
  if (!current) return unknownFramework(id);
  return constantTimeEqual(current.secretHash, secretHash) ? undefined : refuse('unauthorized', `invalid secret for framework ${id}`);
}

export function frameworkProtocol(core: RegistrarCore) {
  const { clock, policy } = core;

  async function getFramework(id: string): Promise<FrameworkRecord> {
    const item = await core.readFramework(id);
    if (!item) throw new RefusedError(refuse('unknown-framework', `no framework ${id}`));
    return item.value;
  }

  return {
    /** A new framework; with a chosen id, a retry with the same secret is idempotent and another secret is refused. */
    async registerFramework(r: FrameworkRegistration): Promise<FrameworkRegistered> {
      let epoch = await core.currentEpoch();
      const id = r.frameworkId ?? core.entropy.id();
      const secret = r.secret ?? core.entropy.secret();
      const secretHash = hashSecret(secret);
      const timeout = r.failoverTimeoutSeconds === undefined ? {} : { failoverTimeoutSeconds: r.failoverTimeoutSeconds };
      const { record } = await core.changeFramework(id, async (current) => {
        epoch = await core.currentEpoch(current?.epoch);
        const now = clock.now();
        if (current) {
          if (!constantTimeEqual(current.secretHash, secretHash)) return refuse('secret-mismatch', `framework ${id} is registered with another secret`);
          return registerExistingFramework(current, { info: r.info, ...timeout, epoch, now, by: r.by });
        }
        // A chosen id may be one that was pruned: its tombstone's absence is part of the commit (rule 8).
        const fence: Write[] = r.frameworkId ? [{ key: tombstoneKey(id), expect: 'absent', check: true }] : [];
        if (r.frameworkId && (await core.withRetry(() => core.store.get(tombstoneKey(id))))) {
          return refuse('gone', `framework ${id} was removed from the registry; register without an id as a new framework`);
        }
        const registered = registerFramework({ id, info: r.info, failoverTimeoutSeconds: r.failoverTimeoutSeconds ?? 0, secretHash, epoch, now, by: r.by });
        return { ...registered, writes: fence };
      });
      return { record: record!, secret, epoch };
    },

    /**
     * Joins the current epoch again: after a master failover, after a disconnection, or as a new
     * scheduler instance taking over (`rotateSecret` then locks the previous instance out).
     */
    async reregisterFramework(id: string, secret: string, r: { info?: FrameworkInfo; failoverTimeoutSeconds?: number; rotateSecret?: boolean }) {
      // Rare, so always fresh: never back to the epoch whose end sent the framework here.
      const epoch = (await core.currentMaster({ fresh: true })).value.epoch;
      const secretHash = hashSecret(secret);
      const rotated = r.rotateSecret ? core.entropy.secret() : undefined;
      const { record } = await core.changeFramework(id, (current) =>
        authenticate(id, current, secretHash) ??
        reregisterFramework(current!, {
          ...(r.info ? { info: r.info } : {}),
          ...(r.failoverTimeoutSeconds === undefined ? {} : { failoverTimeoutSeconds: r.failoverTimeoutSeconds }),
          ...(rotated ? { secretHash: hashSecret(rotated) } : {}),
          epoch,
          now: clock.now(),
          by: id,
        }),
      );
      return { record: record!, epoch, ...(rotated ? { secret: rotated } : {}) };
    },

    /** Rule 2: a store write at most once per granularity. */
    async frameworkHeartbeat(id: string, secret: string, hb: { epoch: number }) {
      const secretHash = hashSecret(secret);
      let masterEpoch = await core.currentEpoch();
      const { record } = await core.changeFramework(id, async (current) => {
        masterEpoch = await core.currentEpoch(current?.epoch);
        return authenticate(id, current, secretHash) ?? acceptFrameworkHeartbeat(current!, { epoch: hb.epoch, masterEpoch, now: clock.now() }, policy);
      });
      return { record: record!, epoch: masterEpoch };
    },

    /** The framework tears itself down: completed, final (a second teardown is told so with 410). */
    async leaveFramework(id: string, secret: string): Promise<FrameworkRecord> {
      const secretHash = hashSecret(secret);
      const { record } = await core.changeFramework(id, (current) => {
        const refusal = authenticate(id, current, secretHash);
        if (refusal) return refusal;
        const allowed = selfTeardownAllowed(current!);
        return allowed === true ? teardownFramework(current!, clock.now(), { by: id }) : allowed;
      });
      return record!;
    },

    getFramework,

    /** An operator's teardown: idempotent, as marking an agent gone. */
    async teardownFramework(id: string, actor: Actor): Promise<FrameworkRecord> {
      const { record } = await core.changeFramework(id, (current) =>
        current ? teardownFramework(current, clock.now(), actor) : refuse('unknown-framework', `no framework ${id}`),
      );
      return record!;
    },

    /** One page of frameworks; filtering may leave it short or empty while a cursor still comes back. */
    async listFrameworks(f: { status?: FrameworkStatus }, page: { cursor?: string; limit?: number }) {
      const { items, cursor } = await core.withRetry(() => core.store.list<FrameworkRecord>(FRAMEWORK_PREFIX, { cursor: page.cursor, limit: page.limit ?? 100 }));
      const frameworks = items.map((i) => i.value).filter((r) => !f.status || r.status === f.status);
      return { frameworks, ...(cursor ? { cursor } : {}) };
    },
  };
}
