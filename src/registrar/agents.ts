// The agent protocol on top of the registrar core: register, re-register, heartbeat, leave.
import {
  acceptHeartbeat, admitAgent, instructionsFor, leaveAllowed, markGone, refuse, registerExisting, reregisterAgent,
  type AgentInfo, type AgentRecord, type Instructions, type Refusal,
} from '../registry/index.ts';
import { constantTimeEqual, hashSecret } from '../secrets.ts';
import type { Write } from '../store.ts';
import { RefusedError, agentKey, machineKey, type RegistrarCore } from './core.ts';

export interface Registration {
  info: AgentInfo;
  /** The join token's label, for the audit trail. */
  by: string;
  /** An agent may choose its id and secret (saved before registering), to make retries idempotent. */
  agentId?: string;
  secret?: string;
}

export interface Registered {
  record: AgentRecord;
  secret: string;
  epoch: number;
}

const unknownAgent = (id: string) => refuse('unknown-agent', `no agent ${id}: register afresh`);
const badSecret = (id: string) => refuse('unauthorized', `invalid secret for agent ${id}`);

/** The refusal for a request whose secret does not match, or undefined when it does. */
function authenticate(id: string, current: AgentRecord | undefined, secretHash: string): Refusal | undefined {
  if (!current) return unknownAgent(id);
  return constantTimeEqual(current.secretHash, secretHash) ? undefined : badSecret(id);
}

export function agentProtocol(core: RegistrarCore) {
  const { clock, policy } = core;

  /** The writes that point a machine at a new agent and mark its older, live record gone. */
  async function replaceMachine(machineId: string, agentId: string, now: number): Promise<Write[]> {
    const index = await core.withRetry(() => core.store.get<{ agentId: string }>(machineKey(machineId)));
    const writes: Write[] = [{ key: machineKey(machineId), expect: index?.version ?? 'absent', put: { agentId } }];
    if (!index || index.value.agentId === agentId) return writes;
    const older = await core.readAgent(index.value.agentId);
    if (!older || older.value.status === 'gone') return writes;
    const gone = markGone(older.value, now, { by: 'master', reason: `machine ${machineId} registered again as agent ${agentId}` });
    return [...writes, { key: agentKey(older.value.id), expect: older.version, put: { ...gone, lastRequestId: core.entropy.id() } }];
  }

  /**
   * The current epoch from the cached master, read afresh when the record already holds a newer
   * one: a cache up to maxClockSkew old must not send an agent back to the epoch it left.
   */
  async function epochFor(current: AgentRecord | undefined): Promise<number> {
    const cached = (await core.currentMaster()).value.epoch;
    return current && current.epoch > cached ? (await core.currentMaster({ fresh: true })).value.epoch : cached;
  }

  return {
    /** Rule 1; with an agent-chosen id, a retry with the same secret is idempotent and another secret is refused. */
    async register(r: Registration): Promise<Registered> {
      let epoch = (await core.currentMaster()).value.epoch;
      const id = r.agentId ?? core.entropy.id();
      const secret = r.secret ?? core.entropy.secret();
      const secretHash = hashSecret(secret);
      const { record } = await core.changeAgent(id, async (current) => {
        epoch = await epochFor(current);
        const now = clock.now();
        if (current) {
          if (!constantTimeEqual(current.secretHash, secretHash)) return refuse('secret-mismatch', `agent ${id} is registered with another secret`);
          return registerExisting(current, { info: r.info, epoch, now, by: r.by });
        }
        const admitted = admitAgent({ id, info: r.info, secretHash, epoch, now, by: r.by });
        return r.info.machineId ? { ...admitted, writes: await replaceMachine(r.info.machineId, id, now) } : admitted;
      });
      return { record: record!, secret, epoch };
    },

    /** Rules 3 and 7: join the current epoch again, optionally with a new secret. */
    async reregister(id: string, secret: string, r: { info: AgentInfo; rotateSecret?: boolean }) {
      let epoch = (await core.currentMaster()).value.epoch;
      const secretHash = hashSecret(secret);
      const rotated = r.rotateSecret ? core.entropy.secret() : undefined;
      const newHash = rotated ? hashSecret(rotated) : undefined;
      const { record } = await core.changeAgent(id, async (current) => {
        epoch = await epochFor(current);
        return authenticate(id, current, secretHash) ??
          reregisterAgent(current!, { info: r.info, epoch, now: clock.now(), by: id, ...(newHash ? { secretHash: newHash } : {}) });
      });
      return { record: record!, epoch, ...(rotated ? { secret: rotated } : {}) };
    },

    /** Rule 2: costs a store write at most once per granularity. */
    async heartbeat(id: string, secret: string, hb: { epoch: number; drained?: boolean }): Promise<{ record: AgentRecord; epoch: number; instructions: Instructions }> {
      let masterEpoch = (await core.currentMaster()).value.epoch;
      const secretHash = hashSecret(secret);
      const { record } = await core.changeAgent(id, async (current) => {
        masterEpoch = await epochFor(current);
        return authenticate(id, current, secretHash) ?? acceptHeartbeat(current!, { ...hb, masterEpoch, now: clock.now() }, policy);
      });
      // Reporting drained with markGone made it gone: the agent learns it now, not one heartbeat later.
      if (record!.status === 'gone') throw new RefusedError(refuse('gone', `agent ${id} was marked gone`));
      return { record: record!, epoch: masterEpoch, instructions: instructionsFor(record!, clock.now()) };
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
