// The history checker's part for frameworks (DESIGN.md, "Frameworks"): after a chaos run, the
// promises about schedulers checked against every recorded request, answer and sweep, and against
// the final registry: records valid, nothing acknowledged lost, completed final, no false
// disconnection or completion, and bounded detection (rule 2's deadline, then the failover timeout).
import { z } from 'zod';
import type { FrameworkRecord } from '../../src/registry/index.ts';
import { listAll } from '../../src/store.ts';
import type { ChaosRun, Exchange } from './harness.ts';

const event = z.object({ at: z.number(), type: z.string(), by: z.string(), reason: z.string().optional() });
const frameworkRecord = z.object({
  id: z.string().uuid(),
  info: z.object({ name: z.string().min(1), user: z.string().optional(), roles: z.array(z.string()).optional() }).passthrough(),
  status: z.enum(['active', 'disconnected', 'completed']),
  epoch: z.number().int().positive(),
  registeredAt: z.number(),
  lastSeenAt: z.number(),
  failoverTimeoutSeconds: z.number().min(0),
  disconnectedAt: z.number().optional(),
  completedAt: z.number().optional(),
  secretHash: z.string().startsWith('sha256:'),
  lastRequestId: z.string(),
  events: z.array(event).max(10),
}).superRefine((r, ctx) => {
  if (r.status === 'disconnected' && r.disconnectedAt === undefined) ctx.addIssue({ code: 'custom', message: 'disconnected without disconnectedAt' });
  if (r.status === 'completed' && r.completedAt === undefined) ctx.addIssue({ code: 'custom', message: 'completed without completedAt' });
});

const ok = (x: Exchange) => typeof x.status === 'number' && x.status >= 200 && x.status < 300;

export async function checkFrameworks(run: ChaosRun): Promise<string[]> {
  const violations: string[] = [];
  const p = run.policy;
  const where = (at: number) => `t+${((at - run.start) / 1000).toFixed(2)}s`;
  const historyOf = (id: string, name: string, at: number) =>
    run.exchanges.filter((x) => x.at <= at + 1_000 && (x.path.includes(id) || x.actor === name)).slice(-10)
      .map((x) => `    ${where(x.at)} ${x.actor} ${x.method} ${x.path.replace(id, '<id>')} via ${x.instance} -> ${x.status}${x.body?.error ? ` ${x.body.error}` : ''}`).join('\n');
  const violate = (what: string, id: string, name: string, at = run.end) =>
    violations.push(`seed ${run.seed}: ${what}\n  history of ${name} up to then:\n${historyOf(id, name, at)}`);

  const records = new Map<string, FrameworkRecord>();
  const tombstones = new Set<string>();
  for await (const item of listAll<unknown>(run.store, '')) {
    if (item.key.startsWith('frameworks/')) records.set(item.key.slice('frameworks/'.length), item.value as FrameworkRecord);
    if (item.key.startsWith('tombstones/')) tombstones.add(item.key.slice('tombstones/'.length));
  }
  for (const [id, r] of records) {
    const parsed = frameworkRecord.safeParse(r);
    if (!parsed.success) violations.push(`seed ${run.seed}: framework record ${id} is invalid: ${parsed.error.issues[0]?.message} at ${parsed.error.issues[0]?.path.join('.')}`);
  }

  const servedSince = (at: number) => run.servedSince.findLast((s) => s.at <= at)?.since ?? run.start;
  const writers = run.sweeps.filter((s) => s.report?.step !== undefined && s.master).sort((a, b) => a.started - b.started);
  // The tolerance of the agents' checks: a scan's duration, the sweeps in between and the skew.
  const slack = 3 * p.sweepInterval + 2 * p.maxClockSkew + 10_000;

  for (const f of run.frameworks) {
    const mine = run.exchanges.filter((x) => x.path.includes(f.id));
    const oks = mine.filter((x) => x.actor === f.name && ok(x));
    const lastOk = (before: number) => Math.max(run.start, ...oks.filter((x) => x.done <= before).map((x) => x.done));
    const record = records.get(f.id);
    const marks = run.frameworkMarks.filter((m) => m.id === f.id);
    const dead = (at: number) => run.frameworkDeaths.some((d) => d.name === f.name && d.at <= at && (d.revivedAt ?? run.end) >= at);

    // Nothing acknowledged is lost: an acknowledged registration leaves a record, or its tombstone once pruned.
    if (oks.length > 0 && !record && !tombstones.has(f.id)) violate(`${f.name} was registered and its record is gone without a tombstone`, f.id, f.name);

    // Completed is final: after a completion landed (the sweeper's, a teardown's, a DELETE's) or a 410,
    // no request sent later gets a 2xx, and the record stays completed (or is pruned to a tombstone).
    const endings = [
      ...marks.filter((m) => m.to === 'completed').map((m) => m.at),
      ...mine.filter((x) => (ok(x) && (x.path.endsWith('/teardown') || x.method === 'DELETE')) || x.status === 410).map((x) => x.done),
    ];
    const completedAt = endings.length > 0 ? Math.min(...endings) : undefined;
    if (completedAt !== undefined) {
      const back = oks.find((x) => x.at > completedAt);
      if (back) violate(`${f.name} answered ${back.status} at ${where(back.at)} after it was completed at ${where(completedAt)}`, f.id, f.name, back.at);
      if (record && record.status !== 'completed') violate(`${f.name} was completed at ${where(completedAt)} and is ${record.status} at the end`, f.id, f.name);
      if (!record && !tombstones.has(f.id)) violate(`${f.name} was completed and its record vanished without a tombstone`, f.id, f.name);
    }

    // No false verdicts: a live framework is disconnected only after an agent timeout of silence while
    // a master served, and completed only after its failover timeout on top of that.
    for (const m of marks) {
      if (dead(m.at)) continue;
      const silent = m.at - Math.max(lastOk(m.at), servedSince(m.at));
      const needed = p.agentTimeout - 2 * p.maxClockSkew + (m.to === 'completed' ? f.failoverTimeoutSeconds * 1000 : 0);
      // A 2xx sent before the verdict and answered after it raced a framework already silent.
      if (oks.some((x) => x.at <= m.at && x.done > m.at)) continue;
      if (silent < needed) violate(`false ${m.to}: ${f.name} marked at ${where(m.at)} after ${(silent / 1000).toFixed(1)}s of silence (failover timeout ${f.failoverTimeoutSeconds}s)`, f.id, f.name, m.at);
    }
  }

  // Bounded detection: a dead framework is disconnected within rule 2's deadline of service (plus the
  // agents' tolerance), and completed within its failover timeout after that. The count starts at the
  // latest of its last 2xx, the end of the last time no master served and the liveness floor; it
  // waits while a window is open or marking is held.
  for (const death of run.frameworkDeaths) {
    const f = run.frameworks.find((x) => x.name === death.name)!;
    const until = death.revivedAt ?? run.end;
    const mine = run.exchanges.filter((x) => x.actor === f.name && ok(x) && x.done <= death.at);
    if (mine.length === 0) continue; // never registered
    const ended = run.exchanges.some((x) => x.at <= until && x.path.includes(f.id) && ((ok(x) && (x.path.endsWith('/teardown') || x.method === 'DELETE')) || x.status === 410));
    if (ended) continue;
    const silentSince = Math.max(...mine.map((x) => x.done));
    const marks = run.frameworkMarks.filter((m) => m.id === f.id && m.at > silentSince && m.at <= until);
    const disconnected = marks.find((m) => m.to === 'disconnected');
    const completed = marks.find((m) => m.to === 'completed');
    const stages = [
      { name: 'disconnected', by: disconnected, after: () => silentSince, bound: p.agentTimeout + p.livenessGranularity + slack },
      { name: 'completed', by: completed, after: () => disconnected?.at, bound: f.failoverTimeoutSeconds * 1000 + slack },
    ];
    for (const stage of stages) {
      const begun = stage.after();
      if (begun === undefined) break;
      let from = begun;
      for (const s of writers) {
        if (s.at < begun || s.at > until || (stage.by && s.at >= stage.by.at)) continue;
        from = Math.max(from, servedSince(s.at), s.master!.livenessFloor);
        if (s.master!.recovery.state !== 'done') from = s.at;
        if (s.at - from > stage.bound) {
          violate(`missed ${stage.name}: ${f.name} dead since ${where(death.at)} (silent since ${where(silentSince)}), not ${stage.name} after ${((s.at - from) / 1000).toFixed(1)}s of service at ${where(s.at)} (failover timeout ${f.failoverTimeoutSeconds}s)`, f.id, f.name, s.at);
          break;
        }
      }
      if (!stage.by) break;
    }
  }
  return violations;
}
