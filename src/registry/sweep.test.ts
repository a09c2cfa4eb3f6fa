import { describe, expect, it } from 'vitest';
import { admitAgent, markGone, markUnreachable, reregisterAgent } from './agent.ts';
import {
  applyMark, guardTrips, isPending, overdueAgents, planNewEpoch, planPrune, planRenewal, planSweep, scanDue, startsEpochWithoutScan, summarize, wasAdmittedAt,
} from './sweep.ts';
import { POLICY, S, T0, servingMaster } from '../../test/support/registry.ts';
import type { AgentRecord, MasterRecord, Policy } from './types.ts';

const EPOCH = 5;
const p = POLICY;
/** How long a current-epoch agent may be silent: the timeout plus one granularity (rule 2). */
const SILENCE = p.agentTimeout + p.livenessGranularity;

const master = (over: Partial<MasterRecord> = {}): MasterRecord => servingMaster(T0, { epoch: EPOCH, ...over });
/** The master as the next regular sweep at `now` will find it. */
const sweptJustBefore = (now: number, over: Partial<MasterRecord> = {}) =>
  master({ lastSweepAt: now - p.sweepInterval, leaseExpiresAt: now - p.sweepInterval + p.masterLease, ...over });

const info = { hostname: 'h', port: 5051, resources: {}, attributes: {}, version: '' };
const agent = (id: string, lastSeenAt: number, over: Partial<AgentRecord> = {}): AgentRecord => ({
  ...admitAgent({ id, info: { ...info, hostname: id }, secretHash: 'sha256:x', epoch: EPOCH, now: lastSeenAt, by: 'join' }),
  ...over,
});
const ids = (records: { id: string }[]) => records.map((r) => r.id);
const many = (n: number, lastSeenAt: number, over: Partial<AgentRecord> = {}) =>
  Array.from({ length: n }, (_, i) => agent(`a${String(i).padStart(3, '0')}`, lastSeenAt, over));

describe('silent agents in the current epoch (rule 2)', () => {
  it('marks an agent only after max(lastSeenAt, floor) + agentTimeout + granularity', () => {
    const seen = T0 - 200 * S;
    const agents = [agent('a', seen)];
    const due = seen + SILENCE;
    expect(planSweep(sweptJustBefore(due), agents, due, p).marks).toEqual([]);
    const plan = planSweep(sweptJustBefore(due + 1), agents, due + 1, p);
    expect(ids(plan.marks)).toEqual(['a']);
    const marked = applyMark(agents[0]!, plan.marks[0]!, due + 1);
    expect(marked).toMatchObject({ status: 'unreachable', unreachableAt: due + 1 });
    expect(marked.events.at(-1)).toMatchObject({ type: 'unreachable', by: 'master', reason: expect.stringMatching(/no heartbeat since/) });
  });

  it('never holds silence before the liveness floor against an agent', () => {
    const floor = T0;
    const agents = [agent('a', floor - 3_600 * S)];
    const m = (now: number) => sweptJustBefore(now, { livenessFloor: floor });
    expect(planSweep(m(floor + SILENCE), agents, floor + SILENCE, p).marks).toEqual([]);
    expect(ids(planSweep(m(floor + SILENCE + 1), agents, floor + SILENCE + 1, p).marks)).toEqual(['a']);
  });

  it('leaves unreachable and gone agents alone', () => {
    const old = T0 - 3_600 * S;
    const agents = [markUnreachable(agent('u', old), old, { by: 'master' }), markGone(agent('g', old), old, { by: 'alice' })];
    expect(planSweep(sweptJustBefore(T0), agents, T0, p).marks).toEqual([]);
  });

  it('a gap between sweeps raises the floor, so nobody silent only during the gap is marked', () => {
    const seen = T0 - SILENCE + 10 * S; // would be due 10 s from now
    const lastSweep = T0 - 20 * S; // a 20 s gap: longer than 2 × 5 s + 2 s, shorter than the lease
    const m = master({ lastSweepAt: lastSweep, leaseExpiresAt: lastSweep + p.masterLease });
    const plan = planSweep(m, [agent('a', seen)], T0 + 11 * S, p);
    expect(plan.step).toBe('gap');
    expect(plan.master.livenessFloor).toBe(T0 + 11 * S);
    expect(plan.marks).toEqual([]);
  });
});

describe('agents of an older epoch (rule 4)', () => {
  const deadline = T0 + 600 * S;
  const recovering = (now: number) => sweptJustBefore(now, { recovery: { state: 'recovering', deadline, admittedAtOpen: 4 }, livenessFloor: T0, startedAt: T0 });
  // Four agents when the window opened; three re-registered.
  const agents = [agent('old', T0 - 10 * S, { epoch: EPOCH - 1 }), ...['b', 'c', 'd'].map((id) => agent(id, deadline - 5 * S))];

  it('are not marked while the window is open, however long they are silent', () => {
    const plan = planSweep(recovering(deadline - 1), agents, deadline - 1, p);
    expect(plan.marks).toEqual([]);
    expect(plan.master.recovery.state).toBe('recovering');
    expect(isPending(plan.master, agents[0]!)).toBe(true);
    expect(isPending(plan.master, agents[1]!)).toBe(false);
  });

  it('are marked when the window closes, and recovery is done', () => {
    const plan = planSweep(recovering(deadline), agents, deadline, p);
    expect(ids(plan.marks)).toEqual(['old']);
    expect(plan.marks[0]?.reason).toMatch(/did not re-register within the window/);
    expect(plan.master.recovery).toMatchObject({ state: 'done', deadline });
    expect(plan.notes.join()).toMatch(/window closed: 1 agents did not re-register/);
  });

  it('inside the window, agents already in the current epoch follow rule 2', () => {
    const now = T0 + 300 * S;
    const silent = agent('silent', T0 + 10 * S);
    const plan = planSweep(recovering(now), [silent, agents[0]!], now, p);
    expect(ids(plan.marks)).toEqual(['silent']);
    expect(plan.master.recovery.state).toBe('recovering');
  });

  it('with no window at all (first start without one), are overdue from the epoch start', () => {
    const m = sweptJustBefore(T0, { recovery: { state: 'done' }, startedAt: T0 - 10 * S });
    const [o] = overdueAgents(m, [agent('old', T0, { epoch: EPOCH - 1 })], T0, p);
    expect(o).toMatchObject({ since: T0 - 10 * S, missedWindow: true });
  });
});

describe('first start and new epochs in a plan (rules 3, 12)', () => {
  it('a first start over existing agents opens a window and marks nobody', () => {
    const agents = many(5, T0 - 3_600 * S, { epoch: 1 });
    const plan = planSweep(undefined, agents, T0, p);
    expect(plan.step).toBe('first-start');
    expect(plan.master.recovery).toEqual({ state: 'recovering', deadline: T0 + p.reregisterTimeout, admittedAtOpen: 5 });
    expect(plan.marks).toEqual([]);
  });

  it('a new epoch marks nobody: every agent gets the window', () => {
    const lapsed = master({ lastSweepAt: T0 - 3_600 * S, leaseExpiresAt: T0 - 3_600 * S + p.masterLease });
    const plan = planSweep(lapsed, many(5, T0 - 3_000 * S), T0, p);
    expect(plan.step).toBe('new-epoch');
    expect(plan.master.epoch).toBe(T0);
    expect(plan.marks).toEqual([]);
  });

  const lapsed = master({
    lastSweepAt: T0 - 3_600 * S, leaseExpiresAt: T0 - 3_600 * S + p.masterLease,
    counts: { admitted: 5, unreachable: 1, gone: 0 }, pending: 0, countsAt: T0 - 3_600 * S, nextScanAt: T0 - 3_000 * S,
  });

  it('a new epoch needs no scan: it opens the window, marks nobody, and leaves the base to the first scan after', () => {
    expect(startsEpochWithoutScan(lapsed, T0, p)).toBe(true);
    expect(startsEpochWithoutScan(sweptJustBefore(T0), T0, p)).toBe(false);
    expect(startsEpochWithoutScan(lapsed, T0, { ...p, reregisterTimeout: 0 })).toBe(false); // a closed window marks at once: scan
    const plan = planNewEpoch(lapsed, T0, p);
    expect(plan).toMatchObject({ step: 'new-epoch', marks: [], prune: [] });
    expect(plan.master).toMatchObject({ epoch: T0, livenessFloor: T0, startedAt: T0, nextScanAt: T0, pending: 5, countsAt: T0 - 3_600 * S });
    expect(plan.master.recovery).toEqual({ state: 'recovering', deadline: T0 + p.reregisterTimeout });
    expect(scanDue(plan.master, T0 + p.sweepInterval, p)).toBe(true);
  });

  it('the first scan of an epoch counts the agents admitted when its window opened', () => {
    const opened = planNewEpoch(lapsed, T0, p).master;
    const at = T0 + p.sweepInterval;
    const before = T0 - 3_000 * S;
    const admitted = many(4, before, { epoch: EPOCH });
    const back = reregisterAgent(agent('back', before), { info, epoch: T0, now: T0 + S, by: 'agent' }) as AgentRecord; // re-registered since: counted
    const joined = admitAgent({ id: 'new', info, secretHash: 'sha256:x', epoch: T0, now: T0 + 2 * S, by: 'join' }); // registered since: not counted
    const removed = markGone(agent('removed', before), T0 + 3 * S, { by: 'alice' }); // removed since: counted
    const down = markUnreachable(agent('down', before - 600 * S), before, { by: 'master' });
    const revived = reregisterAgent(down, { info, epoch: T0, now: T0 + 4 * S, by: 'agent' }) as AgentRecord; // unreachable at the open: not counted
    const agents = [...admitted, back, joined, removed, revived].map(summarize);
    const plan = planSweep(opened, agents, at, p);
    expect(plan.step).toBe('renewed');
    expect(plan.master.recovery).toEqual({ state: 'recovering', deadline: T0 + p.reregisterTimeout, admittedAtOpen: 6 });
    expect(plan.marks).toEqual([]);
    // Once counted, the base stays, whatever registers later.
    const later = planSweep(plan.master, [...agents, summarize(agent('later', at))], at + p.sweepInterval, p);
    expect(later.master.recovery.admittedAtOpen).toBe(6);
  });

  it('an agent counts as admitted at a moment from its last admission until it was marked or removed', () => {
    const a = summarize(agent('a', T0));
    expect([wasAdmittedAt(a, T0 - 1), wasAdmittedAt(a, T0), wasAdmittedAt(a, T0 + S)]).toEqual([false, true, true]);
    const gone = summarize(markGone(agent('g', T0), T0 + 10 * S, { by: 'alice' }));
    expect([wasAdmittedAt(gone, T0 + 9 * S), wasAdmittedAt(gone, T0 + 10 * S)]).toEqual([true, false]);
    const ended = markGone(markUnreachable(agent('u', T0), T0 + 10 * S, { by: 'master' }), T0 + 20 * S, { by: 'alice' });
    expect(wasAdmittedAt(summarize(ended), T0 + 15 * S)).toBe(false); // unreachable by then
    // Ten events later the admission is no longer kept: the registration stands for it.
    let busy = agent('busy', T0);
    for (let i = 1; i <= 12; i++) busy = reregisterAgent(busy, { info, epoch: EPOCH, now: T0 + i * S, by: 'agent' }) as AgentRecord;
    expect(busy.events.some((e) => e.type === 'admitted')).toBe(false);
    expect(summarize(busy).admittedAt).toBe(T0);
  });
});

describe('the guard (rule 4)', () => {
  it('trips only above the limit share AND at or above the minimum', () => {
    expect(guardTrips(6, 10, p)).toBe(true); // 60% and ≥ 3
    expect(guardTrips(5, 10, p)).toBe(false); // exactly 50% is not above
    expect(guardTrips(3, 4, p)).toBe(true);
    expect(guardTrips(2, 2, p)).toBe(false); // 100%, under the minimum
    expect(guardTrips(1, 1, p)).toBe(false); // a 1-agent registry
    expect(guardTrips(3, 0, p)).toBe(true);
  });

  const deadline = T0;
  const closing = master({ lastSweepAt: T0 - p.sweepInterval, recovery: { state: 'recovering', deadline, admittedAtOpen: 10 } });
  const missing = (n: number) => [...many(n, T0 - 700 * S, { epoch: EPOCH - 1 }), ...many(10 - n, T0 - 5 * S).map((a) => ({ ...a, id: `re-${a.id}` }))];

  it('holds marking at window close when too many are missing: nobody is marked and the reason is recorded', () => {
    const plan = planSweep(closing, missing(6), T0, p);
    expect(plan.marks).toEqual([]);
    expect(plan.master.recovery).toMatchObject({ state: 'held', admittedAtOpen: 10, heldReason: expect.stringMatching(/6 of 10 agents/) });
    expect(plan.notes.join()).toMatch(/marking held/);
  });

  it('marks them at window close when the share is at the limit', () => {
    const plan = planSweep(closing, missing(5), T0, p);
    expect(plan.marks).toHaveLength(5);
    expect(plan.master.recovery.state).toBe('done');
  });

  it('a 1-agent registry whose agent died is marked, not held', () => {
    const one = master({ lastSweepAt: T0 - p.sweepInterval, recovery: { state: 'recovering', deadline, admittedAtOpen: 1 } });
    const plan = planSweep(one, [agent('only', T0 - 700 * S, { epoch: EPOCH - 1 })], T0, p);
    expect(ids(plan.marks)).toEqual(['only']);
    expect(plan.master.recovery.state).toBe('done');
  });

  it('applies to a single sweep outside recovery that would mark more than the limit', () => {
    const agents = [...many(4, T0 - 300 * S), agent('fresh', T0 - 1 * S)];
    const plan = planSweep(sweptJustBefore(T0), agents, T0, p);
    expect(plan.marks).toEqual([]);
    expect(plan.master.recovery).toMatchObject({ state: 'held', livenessHold: { reason: expect.stringMatching(/4 of 5/), since: T0, recentMarks: 0 } });
    expect(plan.master.recovery.windowHold).toBeUndefined();
  });

  it('a hold survives a new epoch and its window, and is still held at close if still too many are missing', () => {
    const held = master({
      lastSweepAt: T0 - 3_600 * S,
      leaseExpiresAt: T0 - 3_600 * S + p.masterLease,
      recovery: { state: 'held', deadline: T0 - 3_600 * S, admittedAtOpen: 10, heldReason: 'x' },
    });
    const agents = missing(6);
    const opened = planSweep(held, agents, T0, p);
    expect(opened.step).toBe('new-epoch');
    expect(opened.master.recovery).toMatchObject({ state: 'held', deadline: T0 + p.reregisterTimeout });
    expect(opened.marks).toEqual([]);
    // The window is open: the re-registered agents (now in the new epoch) follow rule 2; still held.
    const inWindow = opened.master;
    const rereg = agents.map((a) => (a.epoch === EPOCH ? { ...a, epoch: inWindow.epoch, lastSeenAt: T0 + 100 * S } : a));
    const mid = planSweep({ ...inWindow, lastSweepAt: T0 + 100 * S, leaseExpiresAt: T0 + 130 * S }, rereg, T0 + 105 * S, p);
    expect(mid.master.recovery.state).toBe('held');
    expect(mid.marks).toEqual([]);
    // At close, 6 of 10 (the hold's base) are still missing.
    const end = inWindow.recovery.deadline!;
    const fresh = rereg.map((a) => (a.epoch === inWindow.epoch ? { ...a, lastSeenAt: end - 1 * S } : a));
    const close = planSweep({ ...inWindow, lastSweepAt: end - p.sweepInterval, leaseExpiresAt: end + 25 * S }, fresh, end, p);
    expect(close.master.recovery.state).toBe('held');
    expect(close.marks).toEqual([]);
  });

  it('a hold clears by itself once the missing fall under the limit, and the rest are marked', () => {
    const held = master({ lastSweepAt: T0 - p.sweepInterval, recovery: { state: 'held', deadline: T0 - 100 * S, admittedAtOpen: 10, heldReason: 'x' } });
    const plan = planSweep(held, missing(4), T0, p);
    expect(plan.marks).toHaveLength(4);
    expect(plan.master.recovery.state).toBe('done');
    expect(plan.master.recovery.heldReason).toBeUndefined();
    expect(plan.notes.join()).toMatch(/hold cleared/);
  });

  it('while held, a sweep with nobody overdue clears the hold', () => {
    const held = master({ lastSweepAt: T0 - p.sweepInterval, recovery: { state: 'held', deadline: T0 - 100 * S, admittedAtOpen: 10, heldReason: 'x' } });
    const plan = planSweep(held, many(3, T0 - 1 * S), T0, p);
    expect(plan.master.recovery.state).toBe('done');
  });

  it('after a release, agents already overdue are marked without the guard; later ones are judged by it', () => {
    const released = master({
      lastSweepAt: T0 - p.sweepInterval,
      recovery: { state: 'done', deadline: T0 - 100 * S, admittedAtOpen: 10, releasedAt: T0 - 1 * S, releasedBy: 'alice' },
    });
    const plan = planSweep(released, missing(8), T0, p);
    expect(plan.marks).toHaveLength(8);
    expect(plan.master.recovery.state).toBe('done');

    // Later, many current-epoch agents fall silent at once: that is judged again (and held).
    const later = T0 + 1_000 * S;
    const silent = [...many(6, later - 200 * S), ...many(4, later - 1 * S).map((a) => ({ ...a, id: `ok-${a.id}` }))];
    const after = planSweep({ ...released, lastSweepAt: later - p.sweepInterval, leaseExpiresAt: later + 25 * S }, silent, later, p);
    expect(after.marks).toEqual([]);
    expect(after.master.recovery.state).toBe('held');
  });
});

describe('rate limit (rule 10)', () => {
  const limited: Policy = { ...p, unreachableRateLimit: { count: 2, per: 60 * S }, recoveryUnreachableMinimum: 100 };
  const silent = [agent('c', T0 - 300 * S), agent('a', T0 - 500 * S), agent('d', T0 - 200 * S), agent('b', T0 - 400 * S), agent('ok', T0)];

  it('marks at most count per period, oldest lastSeenAt first, and carries the budget over', () => {
    const first = planSweep(sweptJustBefore(T0), silent, T0, limited);
    expect(ids(first.marks)).toEqual(['a', 'b']);
    expect(first.master.markBudget).toEqual({ windowStart: T0, used: 2 });
    const marked = new Set(ids(first.marks));
    const rest = silent.filter((a) => !marked.has(a.id));
    const next = T0 + p.sweepInterval;
    expect(planSweep({ ...first.master, lastSweepAt: T0 }, rest, next, limited).marks).toEqual([]);
    const later = T0 + 60 * S;
    const third = planSweep({ ...first.master, lastSweepAt: later - p.sweepInterval, leaseExpiresAt: later + 25 * S }, rest, later, limited);
    expect(ids(third.marks)).toEqual(['c', 'd']);
    expect(third.master.markBudget).toEqual({ windowStart: later, used: 2 });
  });

  it('does not limit marking at the close of a window', () => {
    const closing = master({ lastSweepAt: T0 - p.sweepInterval, recovery: { state: 'recovering', deadline: T0, admittedAtOpen: 100 } });
    const plan = planSweep(closing, many(5, T0 - 700 * S, { epoch: EPOCH - 1 }), T0, limited);
    expect(plan.marks).toHaveLength(5);
  });

  it('does not limit agents released by an operator', () => {
    const released = master({ lastSweepAt: T0 - p.sweepInterval, recovery: { state: 'done', releasedAt: T0 - 1, releasedBy: 'alice' } });
    const plan = planSweep(released, silent, T0, limited);
    expect(ids(plan.marks)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('prune (rule 14)', () => {
  const retention = p.registryRetention;
  const ended = (id: string, at: number, how: 'unreachable' | 'gone') =>
    how === 'gone' ? markGone(agent(id, at - 1), at, { by: 'alice' }) : markUnreachable(agent(id, at - 1), at, { by: 'master' });

  it('prunes unreachable and gone records older than the retention, never admitted ones', () => {
    const agents = [
      ended('old-u', T0 - retention - 1, 'unreachable'),
      ended('old-g', T0 - retention - 2, 'gone'),
      ended('new-u', T0 - retention + 1, 'unreachable'),
      agent('alive-but-ancient', T0 - retention - 10),
    ];
    expect(ids(planPrune(agents, [], T0, p)).sort()).toEqual(['old-g', 'old-u']);
  });

  it('prunes the oldest ended records beyond the maximum number of entries', () => {
    const small = { ...p, registryMaxEntries: 4 };
    const agents = [agent('a1', T0), agent('a2', T0), ended('g3', T0 - 30, 'gone'), ended('u1', T0 - 10, 'unreachable'), ended('u2', T0 - 20, 'unreachable'), ended('g4', T0 - 40, 'gone')];
    expect(ids(planPrune(agents, [], T0, small))).toEqual(['g4', 'g3']);
  });

  it('never prunes more than the ended records, even when admitted ones alone exceed the maximum', () => {
    const small = { ...p, registryMaxEntries: 1 };
    expect(ids(planPrune([agent('a1', T0), agent('a2', T0), ended('u', T0 - 1, 'unreachable')], [], T0, small))).toEqual(['u']);
  });

  it('a sweep prunes, and never prunes what it marks in the same sweep', () => {
    const agents = [ended('old-u', T0 - retention - 1, 'unreachable'), agent('silent', T0 - 300 * S)];
    const plan = planSweep(sweptJustBefore(T0), agents, T0, p);
    expect(ids(plan.marks)).toEqual(['silent']);
    expect(ids(plan.prune)).toEqual(['old-u']);
  });
});

describe('scan spacing (issue 13)', () => {
  const summaries = (records: AgentRecord[]) => records.map(summarize);

  it('the next scan is due when the earliest agent could become overdue, at most a granularity away', () => {
    const now = T0;
    const m = sweptJustBefore(now);
    const close = planSweep(m, summaries([agent('a', now - 100 * S), agent('b', now - 10 * S)]), now, p).master;
    expect(close.nextScanAt).toBe(now - 100 * S + SILENCE);
    const fresh = planSweep(m, summaries([agent('a', now)]), now, p).master;
    expect(fresh.nextScanAt).toBe(now + p.livenessGranularity);
  });

  it('scans every sweep while anything is left undone, and for an empty registry', () => {
    const now = T0;
    const m = sweptJustBefore(now);
    expect(planSweep(m, [], now, p).master.nextScanAt).toBe(now);
    const overdue = planSweep(m, summaries([agent('a', now - SILENCE - 1)]), now, p);
    expect(overdue.marks).toHaveLength(1);
    expect(overdue.master.nextScanAt).toBe(now);
  });

  it('a scan is due at nextScanAt less the skew, and always while recovering, after a gap or a lapsed lease', () => {
    const now = T0;
    const m = master({ lastSweepAt: now, nextScanAt: now + 30 * S });
    expect(scanDue(m, now + 10 * S, p)).toBe(false);
    expect(scanDue(m, now + 30 * S - p.maxClockSkew, p)).toBe(true);
    expect(scanDue({ ...m, nextScanAt: undefined }, now + S, p)).toBe(true);
    expect(scanDue({ ...m, recovery: { state: 'recovering', deadline: now + 60 * S, admittedAtOpen: 1 } }, now + S, p)).toBe(true);
    expect(scanDue({ ...m, nextScanAt: now + 900 * S }, now + 2 * p.sweepInterval + p.maxClockSkew + 1, p)).toBe(true);
    expect(scanDue({ ...m, nextScanAt: now + 900 * S, leaseExpiresAt: now }, now + p.maxClockSkew + 1, p)).toBe(true);
  });

  it('a renewal without a scan keeps the counts and the next scan, and renews the lease', () => {
    const now = T0;
    const m = master({ lastSweepAt: now - p.sweepInterval, nextScanAt: now + 30 * S, counts: { admitted: 4, unreachable: 1, gone: 0 } });
    const { master: renewed, marks, prune } = planRenewal(m, now, p);
    expect(renewed).toMatchObject({ counts: m.counts, nextScanAt: m.nextScanAt, lastSweepAt: now, leaseExpiresAt: now + p.masterLease });
    expect([marks, prune]).toEqual([[], []]);
  });
});
