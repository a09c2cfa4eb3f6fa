// The agent protocol on top of the registrar core: register, re-register, heartbeat, leave.
import {
  acceptHeartbeat, admitAgent, instructionsFor, isRefusal, leaveAllowed, machineReplaceable, markGone, otherEpoch, refuse, registerExisting, reregisterAgent, roomForAgent,
  livenessPatch, renewedClaims, ticketAnswers, ticketClaims, ticketPatchesLiveness, ticketRefusesEpoch,
  type AgentInfo, type AgentRecord, type Instructions, type Refusal, type TicketClaims,
} from '../registry/index.ts';
import { constantTimeEqual, hashSecret } from '../secrets.ts';
import { ConflictError, StoreUnavailableError, type Item, type Version, type Write } from '../store.ts';
import { RefusedError, agentKey, machineKey, tombstoneKey, type Change, type RegistrarCore } from './core.ts';
import type { RecordCache } from './record-cache.ts';
import type { Tickets } from './tickets.ts';

export interface Registration {
  info: AgentInfo;
  /** The join token's label, for the audit trail. */
  by: string;
  /** An agent may choose its id and secret (saved before registering), to make retries idempotent. */
  agentId?: string;
  secret?: string;
  /** The secret of the machine's older agent, to replace it while it is live (a reinstall). */
  previousSecret?: string;
}

export interface Registered {
  record: AgentRecord;
  secret: string;
  epoch: number;
  /** For the first heartbeat (rule 13), so that it need not read the store either. */
  ticket?: string;
}

const unknownAgent = (id: string) => refuse('unknown-agent', `no agent ${id}: register afresh`);
const badSecret = (id: string) => refuse('unauthorized', `invalid secret for agent ${id}`);

/** The refusal for a request whose secret does not match, or undefined when it does. */
function authenticate(id: string, current: AgentRecord | undefined, secretHash: string): Refusal | undefined {
  if (!current) return unknownAgent(id);
  return constantTimeEqual(current.secretHash, secretHash) ? undefined : badSecret(id);
}

export interface HeartbeatAnswer {
  record?: AgentRecord;
  epoch: number;
  instructions: Instructions;
  /** The ticket for the next heartbeat (the same one while it holds). */
  ticket?: string;
}

export function agentProtocol(core: RegistrarCore, tickets: Tickets, cache: RecordCache) {
  const { clock, policy } = core;

  /**
   * The writes that point a machine at a new agent and mark its older record gone (rule 1), or the
   * refusal when the older agent is live and the registration does not present its secret.
   */
  async function replaceMachine(machineId: string, agentId: string, now: number, previousSecret: string | undefined): Promise<Write[] | Refusal> {
    const index = await core.withRetry(() => core.store.get<{ agentId: string }>(machineKey(machineId)));
    const writes: Write[] = [{ key: machineKey(machineId), expect: index?.version ?? 'absent', put: { agentId } }];
    if (!index || index.value.agentId === agentId) return writes;
    const older = await core.readAgent(index.value.agentId);
    if (!older || older.value.status === 'gone') return writes;
    const ownsOlder = previousSecret !== undefined && constantTimeEqual(older.value.secretHash, hashSecret(previousSecret));
    const { livenessFloor } = (await core.currentMaster()).value;
    const allowed = machineReplaceable(older.value, { now, livenessFloor, ownsOlder }, policy);
    if (allowed !== true) return allowed;
    const gone = markGone(older.value, now, { by: 'master', reason: `machine ${machineId} registered again as agent ${agentId}` });
    return [...writes, { key: agentKey(older.value.id), expect: older.version, put: { ...gone, lastRequestId: core.entropy.id() } }];
  }

  /**
   * The record this instance just wrote, for the due write its ticket will bring (a whole put, no
   * read): an agent keeps the instance that registered it wherever there is one (Node, a Durable Object).
   */
  const remember = (record: AgentRecord, version: Version | undefined) => {
    if (version) cache.set(record.id, { key: agentKey(record.id), version, value: record });
  };

  /** A ticket for the record just written, when it is admitted in the epoch the agent is answered. */
  async function ticketFor(record: AgentRecord, version: Version | undefined, epoch: number, secretHash: string): Promise<string | undefined> {
    const claims = version && record.epoch === epoch ? ticketClaims(record, version, policy) : undefined;
    return claims && (await tickets.issue(claims, secretHash));
  }

  /**
   * A due lastSeenAt write on the version an expired ticket names, without reading the record (an
   * instance that does not hold it: no affinity). Undefined when the record changed since: the
   * caller reads it and decides, so 409, 410 and instructions reach the agent as after any read.
   * After an unknown outcome, only the record's request id proves the write (rule 11).
   */
  async function patchLiveness(id: string, claims: TicketClaims, secretHash: string, epoch: number): Promise<HeartbeatAnswer | undefined> {
    const now = clock.now();
    const requestId = core.entropy.id();
    const key = agentKey(id);
    let version: Version | undefined;
    try {
      version = (await core.withRetry(() => core.store.commit([{ key, expect: claims.version, patch: livenessPatch(now, requestId) }])))[key];
    } catch (err) {
      if (err instanceof ConflictError) return undefined;
      if (!(err instanceof StoreUnavailableError && err.outcome === 'unknown')) throw err;
      const after = await core.readAgent(id);
      if (after?.value.lastRequestId !== requestId) throw new StoreUnavailableError(`the outcome of the write to agent ${id} is unknown`, { outcome: 'unknown', cause: err });
      version = after.version;
    }
    const ticket = version ? await tickets.issue(renewedClaims(claims, version, now, policy), secretHash) : undefined;
    return { epoch, instructions: instructionsFor(claims, now), ...(ticket ? { ticket } : {}) };
  }

  return {
    /** Rule 1; with an agent-chosen id, a retry with the same secret is idempotent and another secret is refused. */
    async register(r: Registration): Promise<Registered> {
      let epoch = await core.currentEpoch();
      const id = r.agentId ?? core.entropy.id();
      const secret = r.secret ?? core.entropy.secret();
      const secretHash = hashSecret(secret);
      // An id generated here is new, so there is nothing to read: the write expects it absent.
      const { record, version } = await core.changeAgent(id, async (current) => {
        epoch = await core.currentEpoch(current?.epoch);
        const now = clock.now();
        if (current) {
          if (!constantTimeEqual(current.secretHash, secretHash)) return refuse('secret-mismatch', `agent ${id} is registered with another secret`);
          return registerExisting(current, { info: r.info, epoch, now, by: r.by });
        }
        // A chosen id may be one that was pruned: its tombstone's absence is part of the commit, so
        // a prune landing meanwhile makes it conflict (rule 8). Generated ids are new by construction.
        const fence: Write[] = r.agentId ? [{ key: tombstoneKey(id), expect: 'absent', check: true }] : [];
        if (r.agentId && (await core.withRetry(() => core.store.get(tombstoneKey(id))))) {
          return refuse('gone', `agent ${id} was removed from the registry; register without an id to join as a new agent`);
        }
        const room = roomForAgent((await core.currentMaster()).value.counts?.admitted, policy);
        if (room !== true) return room;
        const admitted = admitAgent({ id, info: r.info, secretHash, epoch, now, by: r.by });
        if (!r.info.machineId) return { ...admitted, writes: fence };
        const replaced = await replaceMachine(r.info.machineId, id, now, r.previousSecret);
        return isRefusal(replaced) ? replaced : { ...admitted, writes: [...fence, ...replaced] };
      }, r.agentId ? {} : { known: 'absent' });
      remember(record!, version);
      const ticket = await ticketFor(record!, version, epoch, secretHash);
      return { record: record!, secret, epoch, ...(ticket ? { ticket } : {}) };
    },

    /** Rules 3 and 7: join the current epoch again, optionally with a new secret. */
    async reregister(id: string, secret: string, r: { info: AgentInfo; rotateSecret?: boolean }) {
      // Rare, so always fresh: never back to the epoch whose end sent the agent here (rule 7).
      const epoch = (await core.currentMaster({ fresh: true })).value.epoch;
      const secretHash = hashSecret(secret);
      const rotated = r.rotateSecret ? core.entropy.secret() : undefined;
      const newHash = rotated ? hashSecret(rotated) : undefined;
      const { record, version } = await core.changeAgent(id, async (current) => {
        return authenticate(id, current, secretHash) ??
          reregisterAgent(current!, { info: r.info, epoch, now: clock.now(), by: id, ...(newHash ? { secretHash: newHash } : {}) });
      });
      remember(record!, version);
      // After a failover every agent re-registers, then heartbeats: with a ticket that heartbeat reads nothing.
      const ticket = await ticketFor(record!, version, epoch, newHash ?? secretHash);
      return { record: record!, epoch, ...(rotated ? { secret: rotated } : {}), ...(ticket ? { ticket } : {}) };
    },

    /**
     * Rule 2: costs a store write at most once per granularity. Rule 13: a valid ticket answers
     * without reading the store while no write is due. When the write falls due it expects the
     * version the ticket vouches for, without reading: the whole record when this instance holds it,
     * else a patch of lastSeenAt. Any change since conflicts, and then the record is read, so 409,
     * 410 and operator instructions reach the agent as they would after a read. The answer carries a new ticket.
     */
    async heartbeat(id: string, secret: string, hb: { epoch: number; drained?: boolean; ticket?: string }): Promise<HeartbeatAnswer> {
      const secretHash = hashSecret(secret);
      let known: Item<AgentRecord> | undefined;
      if (hb.ticket && !hb.drained) {
        const claims = await tickets.verify(hb.ticket, id, secretHash).catch(() => undefined);
        if (claims) {
          const epoch = await core.currentEpoch();
          const now = clock.now();
          if (ticketAnswers(claims, hb, epoch, now)) return { epoch, instructions: instructionsFor(claims, now), ticket: hb.ticket };
          if (ticketRefusesEpoch(claims, hb, epoch, now)) throw new RefusedError(otherEpoch(epoch));
          known = cache.get(id, claims.version);
          if (!known && ticketPatchesLiveness(claims, hb, epoch)) {
            const patched = await patchLiveness(id, claims, secretHash, epoch);
            if (patched) return patched;
          }
        }
      }
      let masterEpoch = await core.currentEpoch();
      let change: Change;
      try {
        change = await core.changeAgent(id, async (current) => {
          masterEpoch = await core.currentEpoch(current?.epoch);
          return authenticate(id, current, secretHash) ?? acceptHeartbeat(current!, { epoch: hb.epoch, ...(hb.drained ? { drained: true } : {}), masterEpoch, now: clock.now() }, policy);
        }, known ? { known } : {});
      } catch (err) {
        cache.delete(id);
        throw err;
      }
      const { record, version } = change;
      // Reporting drained with markGone made it gone: the agent learns it now, not one heartbeat later.
      if (record!.status === 'gone') {
        cache.delete(id);
        throw new RefusedError(refuse('gone', `agent ${id} was marked gone`));
      }
      remember(record!, version);
      const ticket = await ticketFor(record!, version, masterEpoch, secretHash);
      return { record: record!, epoch: masterEpoch, instructions: instructionsFor(record!, clock.now()), ...(ticket ? { ticket } : {}) };
    },

    /** The agent leaves on purpose: its record is removed (a gone agent cannot). */
    async leave(id: string, secret: string): Promise<void> {
      const secretHash = hashSecret(secret);
      await core.changeAgent(id, (current) => {
        const refusal = authenticate(id, current, secretHash);
        if (refusal) return refusal;
        const allowed = leaveAllowed(current!);
        return allowed === true ? { delete: true as const } : allowed;
      });
    },
  };
}
