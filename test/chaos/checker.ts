// The history checker: after a chaos run, the promises of the registrar (DESIGN.md rules 1–11, 14)
// checked against every recorded request, answer and sweep, and against the final registry.
// A violation names the seed and a short history of the agent it concerns, enough to replay it.
import { z } from 'zod';
import type { AgentRecord, MasterRecord } from '../../src/registry/index.ts';
import { listAll } from '../../src/store.ts';
import { checkFrameworks } from './framework-checker.ts';
import { STEP, type ChaosRun, type Exchange, type Sweep } from './harness.ts';

const event = z.object({ at: z.number(), type: z.string(), by: z.string(), reason: z.string().optional() });
const agentRecord = z.object({
  id: z.string().uuid(),
  info: z.object({ hostname: z.string().min(1), port: z.number().int(), resources: z.record(z.string(), z.union([z.number(), z.string()])), attributes: z.record(z.string(), z.string()), version: z.string(), machineId: z.string().optional() }),
  status: z.enum(['admitted', 'unreachable', 'gone']),
  epoch: z.number().int().positive(),
  registeredAt: z.number(),
  lastSeenAt: z.number(),
  unreachableAt: z.number().optional(),
  goneAt: z.number().optional(),
  drain: z.object({ state: z.enum(['draining', 'drained']), deadline: z.number().optional(), markGone: z.boolean().optional() }).optional(),
  deactivated: z.boolean(),
  secretHash: z.string().startsWith('sha256:'),
  lastRequestId: z.string(),
  events: z.array(event).max(10),
}).superRefine((r, ctx) => {
  if (r.status === 'unreachable' && r.unreachableAt === undefined) ctx.addIssue({ code: 'custom', message: 'unreachable without unreachableAt' });
  if (r.status === 'gone' && r.goneAt === undefined) ctx.addIssue({ code: 'custom', message: 'gone without goneAt' });
});
const masterRecord = z.object({
  epoch: z.number().int().positive(),
  leaseExpiresAt: z.number(),
  lastSweepAt: z.number(),
  livenessFloor: z.number(),
  startedAt: z.number(),
  recovery: z.object({ state: z.enum(['recovering', 'held', 'done']), heldReason: z.string().optional() }).passthrough(),
}).passthrough();

const ok = (x: Exchange) => typeof x.status === 'number' && x.status >= 200 && x.status < 300;

export async function checkHistory(run: ChaosRun): Promise<string[]> {
  const violations: string[] = [];
  const p = run.policy;
  /** Rule 4's guard: this many of that many is too many at once. */
  const guardSays = (x: number, y: number) => x > p.recoveryUnreachableLimit * y && x >= p.recoveryUnreachableMinimum;
  const where = (at: number) => `t+${((at - run.start) / 1000).toFixed(2)}s`;
  const historyOf = (id: string, name: string | undefined, at: number) =>
    run.exchanges.filter((x) => x.at <= at + 1_000 && (x.path.includes(id) || (name !== undefined && x.actor === name))).slice(-12)
      .map((x) => `    ${where(x.at)} ${x.actor} ${x.method} ${x.path.replace(id, '<id>')} via ${x.instance} -> ${x.status}${x.body?.error ? ` ${x.body.error}` : ''}`).join('\n');
  const violate = (what: string, id?: string, name?: string, at = run.end) =>
    violations.push(`seed ${run.seed}: ${what}${id ? `\n  history of ${name ?? id} up to then:\n${historyOf(id, name, at)}` : ''}`);

  const items = [];
  for await (const item of listAll<unknown>(run.store, '')) items.push(item);
  const records = new Map(items.filter((i) => i.key.startsWith('agents/')).map((i) => [i.key.slice(7), i.value as AgentRecord]));
  const tombstones = new Set(items.filter((i) => i.key.startsWith('tombstones/')).map((i) => i.key.slice(11)));

  // Every record is valid against its schema.
  for (const [id, r] of records) {
    const parsed = agentRecord.safeParse(r);
    if (!parsed.success) violate(`record ${id} is invalid: ${parsed.error.issues[0]?.message} at ${parsed.error.issues[0]?.path.join('.')}`, id);
  }
  const master = items.find((i) => i.key === 'master')?.value as MasterRecord | undefined;
  if (!masterRecord.safeParse(master).success) violations.push(`seed ${run.seed}: the master record is invalid: ${JSON.stringify(master)}`);

  // No id admitted twice: each agent's id belongs to it alone.
  const owner = new Map<string, string>();
  for (const x of run.exchanges) {
    if (x.method !== 'POST' || x.path !== '/api/v1/agents' || x.status !== 201) continue;
    const id = x.body?.agentId as string;
    if (owner.has(id) && owner.get(id) !== x.actor) violate(`agent id ${id} admitted for ${owner.get(id)} and again for ${x.actor}`, id);
    owner.set(id, x.actor);
  }

  for (const a of run.agents) {
    const mine = run.exchanges.filter((x) => x.path.includes(a.id));
    const record = records.get(a.id);
    // Gone never returns: after an acknowledged gone (or a 410), no 2xx for the agent, and it stays gone.
    const goneAt = mine.find((x) => (ok(x) && x.path.endsWith('/gone')) || x.status === 410)?.done;
    if (goneAt !== undefined) {
      // Only a request sent after the gone was answered must see it, but for a heartbeat its ticket
      // answers (rule 13): a ticket issued before the gone holds for a granularity at most (two
      // instances' clocks apart by up to the skew each way).
      const ticketHolds = (x: Exchange) => x.ticket === true && x.at < goneAt + p.livenessGranularity + 2 * p.maxClockSkew;
      const back = mine.find((x) => x.at > goneAt && ok(x) && x.actor === a.name && !ticketHolds(x));
      if (back) violate(`${a.name} answered ${back.status} at ${where(back.at)} after it was gone at ${where(goneAt)}`, a.id, a.name, back.at);
      if (record && record.status !== 'gone') violate(`${a.name} was gone at ${where(goneAt)} and is ${record.status} at the end`, a.id, a.name);
      if (!record && !tombstones.has(a.id)) violate(`${a.name} was gone and its record vanished without a tombstone`, a.id, a.name);
    }
    // Nothing acknowledged is lost: the last operator instruction, when acknowledged and overlapping
    // no other (whose write may have landed whatever its answer), is what the record says.
    const tried = mine.filter((x) => x.actor === 'operator' && /\/(drain|deactivate|reactivate|gone)$/.test(x.path));
    const last = tried.at(-1);
    const alone = last && ok(last) && tried.every((x) => x === last || x.done < last.at);
    if (record && record.status !== 'gone' && last && alone) {
      const kind = last.path.split('/').at(-1);
      if (kind === 'deactivate' && !record.deactivated) violate(`${a.name}: deactivate acknowledged at ${where(last.at)}, not in the record`, a.id, a.name);
      if (kind === 'drain' && !record.drain) violate(`${a.name}: drain acknowledged at ${where(last.at)}, not in the record`, a.id, a.name);
      if (kind === 'reactivate' && (record.deactivated || record.drain)) violate(`${a.name}: reactivate acknowledged at ${where(last.at)}, not in the record`, a.id, a.name);
    }
    // An acknowledged registration or re-registration leaves a record (or its tombstone, once pruned).
    const admitted = mine.find((x) => x.actor === a.name && ok(x) && !x.path.endsWith('/heartbeat'));
    const registered = run.exchanges.find((x) => x.actor === a.name && x.path === '/api/v1/agents' && x.status === 201);
    if ((admitted || registered) && !record && !tombstones.has(a.id)) violate(`${a.name} was admitted and its record is gone without a tombstone`, a.id, a.name);
  }

  // One winner per epoch, and epochs only grow.
  const started = run.sweeps.filter((s) => s.report?.step === 'new-epoch' || s.report?.step === 'first-start').map((s) => s.report!.epoch!);
  if (new Set(started).size !== started.length) violations.push(`seed ${run.seed}: an epoch was started twice: ${started.join(', ')}`);
  let highest = 0;
  for (const s of run.sweeps) {
    if (!s.master) continue;
    const epoch = s.master.epoch;
    if (epoch < highest) violations.push(`seed ${run.seed}: the master went back from epoch ${highest} to ${epoch} at ${where(s.at)}`);
    highest = Math.max(highest, epoch);
  }

  // Holds only when the guard says so: "X of Y" in a hold's reason exceeds the limit and the minimum.
  for (const s of run.sweeps) {
    const reason = s.master?.recovery.heldReason;
    if (!reason) continue;
    for (const m of reason.matchAll(/(\d+) of (\d+) agents/g)) {
      const [x, y] = [Number(m[1]), Number(m[2])];
      if (!guardSays(x, y)) violations.push(`seed ${run.seed}: held at ${where(s.at)} with ${x} of ${y}, under the guard`);
    }
  }

  const byId = new Map(run.agents.map((a) => [a.id, a]));
  // An answer counts from when it came back: a request still in flight when a sweep marked may have
  // been decided after the mark (a re-registration that makes the agent reachable again).
  const oks = new Map<string, Exchange[]>();
  for (const x of run.exchanges) {
    if (!ok(x)) continue;
    const list = oks.get(x.actor) ?? [];
    list.push(x);
    oks.set(x.actor, list);
  }
  const lastOk = (name: string, before: number) => {
    let last = run.start;
    for (const x of oks.get(name) ?? []) if (x.done <= before) last = Math.max(last, x.done);
    return last;
  };
  /** The epoch an agent was told last by a 2xx answered by then (registration, re-registration, heartbeat). */
  const epochOf = (name: string, at: number) => {
    let epoch: number | undefined;
    for (const x of oks.get(name) ?? []) if (x.done <= at && typeof x.body?.epoch === 'number') epoch = x.body.epoch;
    return epoch;
  };
  const servedSince = (at: number) => run.servedSince.findLast((s) => s.at <= at)?.since ?? run.start;
  const writers = run.sweeps.filter((s) => s.report?.step !== undefined).sort((a, b) => a.started - b.started);
  const sweepLine = (s: Sweep) => `    ${where(s.started)}–${where(s.at)} ${s.instance}: ${s.error ? `failed: ${s.error}` : `${s.report!.outcome}${s.report!.step ? ` ${s.report!.step}` : ''}, marked ${s.report!.marked.length}${s.master?.recovery.state === 'held' ? ', held' : ''}`}`;
  const sweepsUpTo = (at: number, n = 8) => run.sweeps.filter((s) => s.started <= at).sort((a, b) => a.started - b.started).slice(-n).map(sweepLine).join('\n');

  // Rule 3: the liveness floor rises only after a gap, and gaps are measured between sweep starts with
  // sweeps scheduled start to start. A raise is explained by an outage, a crash, a cut, a sweeper paused
  // or resumed, a sweep attempt that failed, lost or skipped, or a sweep longer than the gap test: the
  // next start came as soon as start-to-start scheduling allows. Anything else held silence against nobody.
  const raises: number[] = [];
  const unexplained: string[] = [];
  for (let k = 1; k < writers.length; k++) {
    const [prev, s] = [writers[k - 1]!, writers[k]!];
    if (s.report!.step === 'new-epoch' || s.report!.step === 'first-start') raises.push(s.started);
    if (s.report!.step !== 'gap') continue;
    const within = (t: number) => t >= prev.started && t <= s.started;
    const explained = run.disruptions.some((d) => within(d.at))
      || run.sweeps.some((x) => x !== s && x !== prev && (within(x.started) || within(x.at)) && (x.error !== undefined || x.report?.outcome !== 'done'))
      || s.started <= Math.max(prev.started + p.sweepInterval, prev.at) + 2 * STEP
      // The sweep before lasted longer than the gap test itself: the next start, however prompt, finds a
      // gap (on a loaded machine a real store's answers can land a few steps after the world moved on).
      || prev.at - prev.started > 2 * p.sweepInterval + p.maxClockSkew;
    if (explained) raises.push(s.started);
    else unexplained.push(`seed ${run.seed}: liveness floor raised without a gap at ${where(s.started)} by ${s.instance}: the sweep before it (${prev.instance}) started ${((s.started - prev.started) / 1000).toFixed(1)}s earlier and ended ${((s.started - prev.at) / 1000).toFixed(1)}s before this one started, and nothing kept the sweepers from running meanwhile\n  sweeps up to then:\n${sweepsUpTo(s.started)}`);
  }
  violations.push(...unexplained.slice(0, 3));
  if (unexplained.length > 3) violations.push(`seed ${run.seed}: … and ${unexplained.length - 3} more floor raises without a gap`);
  const raisedBy = (at: number) => raises.findLast((r) => r <= at) ?? run.start;

  // No false unreachable (rule 5), at any time, windows and holds included: a live agent that always
  // got through while a master served is never marked before it has been silent for the agent timeout;
  // a cut-off one never before that silence either.
  for (const m of run.marks) {
    const a = byId.get(m.id);
    if (!a) continue;
    const silent = m.at - Math.max(lastOk(a.name, m.at), servedSince(m.at));
    const cutSilent = m.at - lastOk(a.name, m.at);
    const wasCut = run.exchanges.some((x) => x.actor === a.name && x.path === 'partitioned' && x.at >= lastOk(a.name, m.at) && x.at <= m.at);
    // A 2xx sent before the mark and answered after it: the mark raced an agent already silent.
    if (wasCut && (oks.get(a.name) ?? []).some((x) => x.at <= m.at && x.done > m.at)) continue;
    const measured = wasCut ? cutSilent : silent;
    const dead = run.deaths.some((d) => d.name === a.name && d.at <= m.at && (d.revivedAt ?? run.end) >= m.at);
    if (!dead && measured < p.agentTimeout - 2 * p.maxClockSkew) {
      violate(`false unreachable: ${a.name} marked at ${where(m.at)} after ${(measured / 1000).toFixed(1)}s of silence`, a.id, a.name, m.at);
    }
  }

  // The guard (rule 4) the other way round: silence beyond its limit is held, not marked. Within any
  // trailing period, the marks of silent agents (and, apart, of agents that missed a window) stay within
  // the limit of every agent ever admitted; marks an operator released (of agents silent before the
  // release, in the minutes after it) do not count.
  const period = p.livenessGranularity + p.heartbeatInterval + p.sweepInterval - 2 * p.maxClockSkew;
  const releases = run.exchanges.filter((x) => x.actor === 'operator' && ok(x) && x.path.endsWith('/recovery/release'));
  const admitted = new Set(run.exchanges.filter((x) => x.path === '/api/v1/agents' && x.status === 201).map((x) => x.actor)).size;
  const released = (m: { at: number; id: string }) => {
    const name = byId.get(m.id)?.name ?? '';
    return releases.some((r) => r.at <= m.at && m.at - r.at < period + p.reregisterTimeout && lastOk(name, r.at) < r.at);
  };
  for (const [kind, pattern] of [['silent agents', /^no heartbeat/], ['agents that missed a window', /^did not re-register/]] as const) {
    const counted = run.marks.filter((m) => pattern.test(m.reason) && !released(m)).sort((a, b) => a.at - b.at);
    for (let i = 0, j = 0; i < counted.length; i++) {
      while (counted[i]!.at - counted[j]!.at >= period) j++;
      const n = i - j + 1;
      if (guardSays(n, admitted)) {
        const silence = run.silences.findLast((x) => x.at <= counted[i]!.at);
        violations.push(`seed ${run.seed}: marked instead of held: ${n} ${kind} marked unreachable between ${where(counted[j]!.at)} and ${where(counted[i]!.at)}, over the guard's limit (${p.recoveryUnreachableLimit * 100}% of ${admitted} admitted)${silence ? `; ${silence.agents} agents went silent at ${where(silence.at)} until ${where(silence.until)}` : ''}\n  sweeps up to then:\n${sweepsUpTo(counted[i]!.at)}`);
        break;
      }
    }
  }

  // Bounded detection (rule 5): a dead agent is marked within agentTimeout + granularity + a sweep
  // interval (+ a sweep's duration and the skew) of service, counted from the latest of its last 2xx,
  // the end of the last time no master served, and the last explained floor raise. Only what applies
  // to that agent stops the count: an agent of an older epoch waits for an open window or a hold;
  // an agent of the current epoch (registered or re-registered in it) follows rule 2 through windows
  // and window holds, and waits only for a liveness hold (the guard over the trailing period).
  // A hold whose record does not say which agents it covers covers current-epoch agents only when
  // the guard over the trailing period says so: more agents of that epoch silent (by the history)
  // for an agent timeout than the limit allows.
  const heldBySilence = new Map<Sweep, boolean>();
  const silenceHeld = (s: Sweep) => {
    if (!heldBySilence.has(s)) {
      const silent = run.agents.filter((a) => epochOf(a.name, s.at) === s.master!.epoch && s.at - lastOk(a.name, s.at) > p.agentTimeout - 2 * p.maxClockSkew).length;
      heldBySilence.set(s, guardSays(silent, admitted));
    }
    return heldBySilence.get(s)!;
  };
  const bound = p.agentTimeout + p.livenessGranularity + 3 * p.sweepInterval + 2 * p.maxClockSkew + 10_000;
  for (const death of run.deaths) {
    const a = run.agents.find((x) => x.name === death.name)!;
    const until = death.revivedAt ?? run.end;
    // Silent since its last 2xx (it may have been cut off before it died): any mark since counts.
    const silentSince = lastOk(a.name, death.at);
    if (!(oks.get(a.name) ?? []).some((x) => x.at <= death.at)) continue; // never admitted
    const endedAt = (x: Exchange) => x.actor === 'operator' && ok(x) && x.path.endsWith(`${a.id}/gone`);
    if (run.exchanges.some((x) => x.at <= until && (endedAt(x) || (x.actor === a.name && x.status === 410)))) continue;
    const marked = run.marks.find((m) => m.at > silentSince && m.at <= until && m.id === a.id);
    const epoch = epochOf(a.name, death.at);
    let from = Math.max(silentSince, run.start);
    for (const s of writers) {
      if (s.at < death.at || s.at > until || (marked && s.at >= marked.at) || !s.master) continue;
      from = Math.max(from, servedSince(s.at), raisedBy(s.started));
      const r = s.master.recovery;
      const current = epoch === s.master.epoch;
      if (current ? r.livenessHold !== undefined || (r.state === 'held' && silenceHeld(s)) : r.state !== 'done') from = s.at;
      if (s.at - from > bound) {
        const situation = current
          ? `on the current epoch ${epoch}${r.state === 'held' ? `, while held: ${r.heldReason}` : r.state === 'recovering' ? ', while a window is open' : ''}`
          : `on epoch ${epoch} of an older master (now ${s.master.epoch})`;
        violate(`missed detection: ${a.name} dead since ${where(death.at)} (${situation}), still admitted after ${((s.at - from) / 1000).toFixed(1)}s of service at ${where(s.at)}\n  sweeps up to then:\n${sweepsUpTo(s.at, 6)}`, a.id, a.name, s.at);
        break;
      }
    }
  }
  violations.push(...(await checkFrameworks(run)));
  return violations;
}
