// The history checker: after a chaos run, the promises of the registrar (DESIGN.md rules 1–11, 14)
// checked against every recorded request, answer and sweep, and against the final registry.
// A violation names the seed and a short history of the agent it concerns, enough to replay it.
import { z } from 'zod';
import type { AgentRecord, MasterRecord } from '../../src/registry/index.ts';
import { listAll } from '../../src/store.ts';
import type { ChaosRun, Exchange } from './harness.ts';

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
      // Only a request sent after the gone was answered must see it.
      const back = mine.find((x) => x.at > goneAt && ok(x) && x.actor === a.name);
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
  const started = run.sweeps.filter((s) => s.report.step === 'new-epoch' || s.report.step === 'first-start').map((s) => s.report.epoch!);
  if (new Set(started).size !== started.length) violations.push(`seed ${run.seed}: an epoch was started twice: ${started.join(', ')}`);
  let highest = 0;
  for (const s of run.sweeps) {
    const epoch = s.master?.epoch ?? 0;
    if (epoch < highest) violations.push(`seed ${run.seed}: the master went back from epoch ${highest} to ${epoch} at ${where(s.at)}`);
    highest = Math.max(highest, epoch);
  }

  // Holds only when the guard says so: "X of Y" in a hold's reason exceeds the limit and the minimum.
  for (const s of run.sweeps) {
    const reason = s.master?.recovery.heldReason;
    if (!reason) continue;
    for (const m of reason.matchAll(/(\d+) of (\d+) agents/g)) {
      const [x, y] = [Number(m[1]), Number(m[2])];
      if (!(x > p.recoveryUnreachableLimit * y && x >= p.recoveryUnreachableMinimum)) violations.push(`seed ${run.seed}: held at ${where(s.at)} with ${x} of ${y}, under the guard`);
    }
  }

  // No false unreachable (rule 5): a live agent that always got through while a master served is
  // never marked before it has been silent for the agent timeout; a cut-off one never before that
  // silence either.
  const byId = new Map(run.agents.map((a) => [a.id, a]));
  // An answer counts from when it came back: a request still in flight when a sweep marked may have
  // been decided after the mark (a re-registration that makes the agent reachable again).
  const lastOk = (name: string, before: number) => {
    let last = run.start;
    for (const x of run.exchanges) if (x.actor === name && x.done <= before && ok(x)) last = Math.max(last, x.done);
    return last;
  };
  const servedSince = (at: number) => run.servedSince.findLast((s) => s.at <= at)?.since ?? run.start;
  for (const s of run.marks.map((m) => ({ at: m.at, instance: 'a sweep', id: m.id }))) {
    {
      const a = byId.get(s.id);
      if (!a) continue;
      const silent = s.at - Math.max(lastOk(a.name, s.at), servedSince(s.at));
      const cutSilent = s.at - lastOk(a.name, s.at);
      const wasCut = run.exchanges.some((x) => x.actor === a.name && x.path === 'partitioned' && x.at >= lastOk(a.name, s.at) && x.at <= s.at);
      // A 2xx sent before the mark and answered after it: the mark raced an agent already silent.
      if (run.exchanges.some((x) => x.actor === a.name && ok(x) && x.at <= s.at && x.done > s.at) && wasCut) continue;
      const measured = wasCut ? cutSilent : silent;
      const dead = run.deaths.some((d) => d.name === a.name && d.at <= s.at && (d.revivedAt ?? run.end) >= s.at);
      if (!dead && measured < p.agentTimeout - 2 * p.maxClockSkew) {
        violate(`false unreachable: ${a.name} marked at ${where(s.at)} by ${s.instance} after ${(measured / 1000).toFixed(1)}s of silence`, a.id, a.name, s.at);
      }
    }
  }

  // Bounded detection (rule 5): a dead agent is marked within agentTimeout + granularity + a sweep
  // interval (+ a sweep's duration and the skew) of service, counted from the latest of its last 2xx,
  // the end of the last time no master served, and the last sweep that found a window or a hold.
  const bound = p.agentTimeout + p.livenessGranularity + 2 * p.sweepInterval + 2 * p.maxClockSkew + 10_000;
  for (const death of run.deaths) {
    const a = run.agents.find((x) => x.name === death.name)!;
    const until = death.revivedAt ?? run.end;
    // Silent since its last 2xx (it may have been cut off before it died): any mark since counts.
    const silentSince = lastOk(a.name, death.at);
    if (!run.exchanges.some((x) => x.actor === a.name && x.at <= death.at && ok(x))) continue; // never admitted
    const endedAt = (x: Exchange) => x.actor === 'operator' && ok(x) && x.path.endsWith(`${a.id}/gone`);
    if (run.exchanges.some((x) => x.at <= until && (endedAt(x) || (x.actor === a.name && x.status === 410)))) continue;
    const marked = run.marks.find((m) => m.at > silentSince && m.at <= until && m.id === a.id);
    let from = Math.max(silentSince, run.start);
    for (const s of run.sweeps) {
      if (s.at < death.at || s.at > until || (marked && s.at >= marked.at)) continue;
      from = Math.max(from, servedSince(s.at));
      if (s.master?.recovery.state !== 'done') from = s.at;
      if (s.at - from > bound) {
        violate(`missed detection: ${a.name} dead since ${where(death.at)}, still admitted after ${((s.at - from) / 1000).toFixed(1)}s of service at ${where(s.at)}`, a.id, a.name, s.at);
        break;
      }
    }
  }
  return violations;
}
