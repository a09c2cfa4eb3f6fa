import { describe, expect, it } from 'vitest';
import {
  acceptHeartbeat, admitAgent, deactivateAgent, drainAgent, instructionsFor, leaveAllowed, livenessWriteDue, markGone,
  markUnreachable, reactivateAgent, registerExisting, reregisterAgent, withEvent,
} from './agent.ts';
import { EVENTS_KEPT, isRefusal, type AgentInfo, type AgentRecord, type Refusal } from './types.ts';

const T0 = 1_000_000;
const GRANULARITY = 60_000;
const policy = { livenessGranularity: GRANULARITY };
const info: AgentInfo = { hostname: 'a1', port: 5051, resources: { cpus: 4 }, attributes: { rack: 'r1' }, version: '1.0' };

const admitted = (over: Partial<AgentRecord> = {}): AgentRecord => ({
  ...admitAgent({ id: 'agent-1', info, secretHash: 'sha256:x', epoch: 7, now: T0, by: 'join' }),
  ...over,
});

function refusal(x: AgentRecord | Refusal | true): Refusal {
  if (!isRefusal(x)) throw new Error(`expected a refusal, got ${JSON.stringify(x)}`);
  return x;
}
function record(x: AgentRecord | Refusal): AgentRecord {
  if (isRefusal(x)) throw new Error(`expected a record, got refusal ${x.refused}: ${x.message}`);
  return x;
}

describe('admit (rule 1)', () => {
  it('admits a new agent in the current epoch, seen now, with its secret hash and an event', () => {
    const r = admitAgent({ id: 'agent-1', info, secretHash: 'sha256:x', epoch: 7, now: T0, by: 'join' });
    expect(r).toMatchObject({ id: 'agent-1', info, status: 'admitted', epoch: 7, registeredAt: T0, lastSeenAt: T0, deactivated: false, secretHash: 'sha256:x' });
    expect(r.unreachableAt).toBeUndefined();
    expect(r.goneAt).toBeUndefined();
    expect(r.drain).toBeUndefined();
    expect(r.events).toEqual([{ at: T0, type: 'admitted', by: 'join' }]);
  });
});

describe('liveness (rule 2)', () => {
  it('writes lastSeenAt at most once per granularity: a heartbeat within it returns the same record', () => {
    const r = admitted();
    expect(acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + GRANULARITY - 1 }, policy)).toBe(r);
    expect(livenessWriteDue(r, T0 + GRANULARITY - 1, policy)).toBe(false);
  });

  it('writes lastSeenAt once the granularity has passed', () => {
    const r = admitted();
    expect(livenessWriteDue(r, T0 + GRANULARITY, policy)).toBe(true);
    const next = record(acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + GRANULARITY }, policy));
    expect(next).not.toBe(r);
    expect(next.lastSeenAt).toBe(T0 + GRANULARITY);
    expect(next.events).toEqual(r.events); // liveness is not an event
  });

  it('a heartbeat of a gone agent is refused with gone (410)', () => {
    const r = markGone(admitted(), T0, { by: 'alice' });
    expect(refusal(acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + 1 }, policy)).refused).toBe('gone');
  });

  it('a heartbeat in another epoch than the master is told to re-register with the current epoch (409)', () => {
    const r = admitted();
    const stale = refusal(acceptHeartbeat(r, { epoch: 6, masterEpoch: 7, now: T0 + 1 }, policy));
    expect(stale).toMatchObject({ refused: 'reregister', epoch: 7 });
  });

  it('an agent whose record is from an older epoch must re-register, whatever epoch it claims', () => {
    const r = admitted({ epoch: 6 });
    expect(refusal(acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + 1 }, policy))).toMatchObject({ refused: 'reregister', epoch: 7 });
  });

  it('an unreachable agent is told to re-register (409), even in the current epoch (rule 7)', () => {
    const r = markUnreachable(admitted(), T0 + 1, { by: 'master' });
    expect(refusal(acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + 2 }, policy))).toMatchObject({ refused: 'reregister', epoch: 7 });
  });
});

describe('re-registration (rules 3 and 7)', () => {
  it('joins the current epoch with new info and is seen now', () => {
    const r = admitted();
    const next = record(reregisterAgent(r, { info: { ...info, version: '1.1' }, epoch: 9, now: T0 + 5, by: 'agent-1' }));
    expect(next).toMatchObject({ status: 'admitted', epoch: 9, lastSeenAt: T0 + 5, registeredAt: T0, secretHash: 'sha256:x' });
    expect(next.info.version).toBe('1.1');
    expect(next.events.at(-1)).toEqual({ at: T0 + 5, type: 'reregistered', by: 'agent-1' });
  });

  it('an unreachable agent that re-registers is reachable again with its id', () => {
    const r = markUnreachable(admitted(), T0 + 1, { by: 'master' });
    const next = record(reregisterAgent(r, { info, epoch: 7, now: T0 + 2, by: 'agent-1' }));
    expect(next).toMatchObject({ id: 'agent-1', status: 'admitted', lastSeenAt: T0 + 2 });
    expect(next.unreachableAt).toBeUndefined();
    expect(next.events.at(-1)?.type).toBe('reachable');
  });

  it('rotates the secret when given a new hash', () => {
    const next = record(reregisterAgent(admitted(), { info, epoch: 7, now: T0, secretHash: 'sha256:new', by: 'agent-1' }));
    expect(next.secretHash).toBe('sha256:new');
  });

  it('keeps drain and deactivation across re-registration (rule 9)', () => {
    const r = record(deactivateAgent(record(drainAgent(admitted(), { now: T0, actor: { by: 'alice' } })), T0, { by: 'alice' }));
    const next = record(reregisterAgent(r, { info, epoch: 8, now: T0 + 1, by: 'agent-1' }));
    expect(next.deactivated).toBe(true);
    expect(next.drain?.state).toBe('draining');
  });

  it('a gone agent cannot re-register (410)', () => {
    const r = markGone(admitted(), T0, { by: 'alice' });
    expect(refusal(reregisterAgent(r, { info, epoch: 7, now: T0 + 1, by: 'agent-1' })).refused).toBe('gone');
  });
});

describe('registration of an existing agent with its own secret', () => {
  it('is idempotent: the same epoch and info change nothing', () => {
    const r = admitted();
    expect(registerExisting(r, { info: { ...info }, epoch: 7, now: T0 + 10, by: 'join' })).toBe(r);
  });

  it('re-registers when the epoch or the info differ', () => {
    const r = admitted();
    expect(record(registerExisting(r, { info, epoch: 8, now: T0 + 10, by: 'join' })).epoch).toBe(8);
    expect(record(registerExisting(r, { info: { ...info, port: 6000 }, epoch: 7, now: T0 + 10, by: 'join' })).info.port).toBe(6000);
  });

  it('makes an unreachable agent reachable again', () => {
    const r = markUnreachable(admitted(), T0 + 1, { by: 'master' });
    expect(record(registerExisting(r, { info, epoch: 7, now: T0 + 2, by: 'join' })).status).toBe('admitted');
  });

  it('is refused for a gone agent (410)', () => {
    const r = markGone(admitted(), T0, { by: 'alice' });
    expect(refusal(registerExisting(r, { info, epoch: 7, now: T0 + 1, by: 'join' })).refused).toBe('gone');
  });
});

describe('gone (rule 8)', () => {
  it('is final: marks the agent gone with the time, actor and reason', () => {
    const r = markGone(admitted(), T0 + 3, { by: 'alice', reason: 'decommissioned' });
    expect(r).toMatchObject({ status: 'gone', goneAt: T0 + 3 });
    expect(r.events.at(-1)).toEqual({ at: T0 + 3, type: 'gone', by: 'alice', reason: 'decommissioned' });
  });

  it('is idempotent: marking a gone agent again changes nothing', () => {
    const r = markGone(admitted(), T0 + 3, { by: 'alice' });
    expect(markGone(r, T0 + 4, { by: 'bob' })).toBe(r);
  });

  it('an unreachable agent can be marked gone', () => {
    expect(markGone(markUnreachable(admitted(), T0 + 1, { by: 'master' }), T0 + 2, { by: 'alice' }).status).toBe('gone');
  });

  it('the sweeper never marks a gone agent unreachable', () => {
    const r = markGone(admitted(), T0, { by: 'alice' });
    expect(markUnreachable(r, T0 + 1, { by: 'master' })).toBe(r);
  });

  it('a gone agent cannot leave (410); any other can', () => {
    expect(leaveAllowed(admitted())).toBe(true);
    expect(leaveAllowed(markUnreachable(admitted(), T0, { by: 'master' }))).toBe(true);
    expect(refusal(leaveAllowed(markGone(admitted(), T0, { by: 'alice' }))).refused).toBe('gone');
  });
});

describe('unreachable (rule 2)', () => {
  it('marks an admitted agent unreachable with the time and reason', () => {
    const r = markUnreachable(admitted(), T0 + 9, { by: 'master', reason: 'silent' });
    expect(r).toMatchObject({ status: 'unreachable', unreachableAt: T0 + 9 });
    expect(r.events.at(-1)).toEqual({ at: T0 + 9, type: 'unreachable', by: 'master', reason: 'silent' });
  });

  it('marking an unreachable agent again changes nothing', () => {
    const r = markUnreachable(admitted(), T0 + 9, { by: 'master' });
    expect(markUnreachable(r, T0 + 10, { by: 'master' })).toBe(r);
  });
});

describe('drain, deactivate, reactivate (rule 9)', () => {
  it('drains with a grace period, told to the agent as a duration', () => {
    const r = record(drainAgent(admitted(), { now: T0, maxGracePeriod: 90_500, actor: { by: 'alice', reason: 'kernel upgrade' } }));
    expect(r.drain).toEqual({ state: 'draining', deadline: T0 + 90_500 });
    expect(r.events.at(-1)).toEqual({ at: T0, type: 'drain', by: 'alice', reason: 'kernel upgrade' });
    expect(instructionsFor(r, T0 + 30_000)).toEqual({ drain: { state: 'draining', remainingSeconds: 61 }, deactivated: false });
    expect(instructionsFor(r, T0 + 200_000)).toEqual({ drain: { state: 'draining', remainingSeconds: 0 }, deactivated: false });
  });

  it('drains without a limit when no grace period is given', () => {
    const r = record(drainAgent(admitted(), { now: T0, actor: { by: 'alice' } }));
    expect(r.drain).toEqual({ state: 'draining' });
    expect(instructionsFor(r, T0)).toEqual({ drain: { state: 'draining' }, deactivated: false });
  });

  it('a drained report moves draining to drained and is written at once', () => {
    const r = record(drainAgent(admitted(), { now: T0, actor: { by: 'alice' } }));
    const next = record(acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + 1, drained: true }, policy));
    expect(next.drain?.state).toBe('drained');
    expect(next.lastSeenAt).toBe(T0 + 1);
    expect(next.events.at(-1)).toMatchObject({ type: 'drained', by: 'agent-1' });
    expect(instructionsFor(next, T0 + 2)).toEqual({ drain: { state: 'drained' }, deactivated: false });
  });

  it('a drained report without a drain changes nothing', () => {
    const r = admitted();
    expect(acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + 1, drained: true }, policy)).toBe(r);
  });

  it('a drained report with markGone marks the agent gone', () => {
    const r = record(drainAgent(admitted(), { now: T0, markGone: true, actor: { by: 'alice' } }));
    const next = record(acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + 1, drained: true }, policy));
    expect(next.status).toBe('gone');
    expect(next.goneAt).toBe(T0 + 1);
  });

  it('draining an already drained agent keeps it drained; with markGone it is marked gone at once', () => {
    const drained = record(acceptHeartbeat(record(drainAgent(admitted(), { now: T0, actor: { by: 'alice' } })), { epoch: 7, masterEpoch: 7, now: T0 + 1, drained: true }, policy));
    expect(record(drainAgent(drained, { now: T0 + 2, actor: { by: 'alice' } })).drain?.state).toBe('drained');
    const gone = record(drainAgent(drained, { now: T0 + 3, markGone: true, actor: { by: 'alice' } }));
    expect(gone).toMatchObject({ status: 'gone', goneAt: T0 + 3 });
    expect(gone.events.at(-1)).toMatchObject({ type: 'gone', by: 'alice', reason: 'drained with markGone' });
  });

  it('deactivates once; deactivating again changes nothing', () => {
    const r = record(deactivateAgent(admitted(), T0, { by: 'alice' }));
    expect(r.deactivated).toBe(true);
    expect(instructionsFor(r, T0)).toEqual({ deactivated: true });
    expect(deactivateAgent(r, T0 + 1, { by: 'alice' })).toBe(r);
  });

  it('reactivates: clears both drain and deactivation; an active agent is unchanged', () => {
    const r = record(deactivateAgent(record(drainAgent(admitted(), { now: T0, actor: { by: 'alice' } })), T0, { by: 'alice' }));
    const next = record(reactivateAgent(r, T0 + 1, { by: 'bob' }));
    expect(next.deactivated).toBe(false);
    expect(next.drain).toBeUndefined();
    expect(next.events.at(-1)).toEqual({ at: T0 + 1, type: 'reactivate', by: 'bob' });
    expect(reactivateAgent(next, T0 + 2, { by: 'bob' })).toBe(next);
  });

  it('refuses every operator flag on a gone agent (410)', () => {
    const r = markGone(admitted(), T0, { by: 'alice' });
    expect(refusal(drainAgent(r, { now: T0, actor: { by: 'alice' } })).refused).toBe('gone');
    expect(refusal(deactivateAgent(r, T0, { by: 'alice' })).refused).toBe('gone');
    expect(refusal(reactivateAgent(r, T0, { by: 'alice' })).refused).toBe('gone');
  });
});

describe('events', () => {
  it(`keeps the last ${EVENTS_KEPT} events`, () => {
    let r = admitted();
    for (let i = 1; i <= 15; i++) r = withEvent(r, T0 + i, `e${i}`, { by: 'alice' });
    expect(r.events).toHaveLength(EVENTS_KEPT);
    expect(r.events[0]?.type).toBe('e6');
    expect(r.events.at(-1)?.type).toBe('e15');
  });

  it('does not mutate the record it was given', () => {
    const r = admitted();
    const copy = structuredClone(r);
    markGone(r, T0 + 1, { by: 'alice' });
    markUnreachable(r, T0 + 1, { by: 'master' });
    acceptHeartbeat(r, { epoch: 7, masterEpoch: 7, now: T0 + GRANULARITY }, policy);
    drainAgent(r, { now: T0, actor: { by: 'alice' } });
    expect(r).toEqual(copy);
  });
});
