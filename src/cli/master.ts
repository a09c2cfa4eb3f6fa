// `registrar master status`, `registrar recovery release` and `registrar registry export`.
import type { AgentStatus, MasterRecord } from '../registry/index.ts';
import { callJson, request } from './api.ts';
import { CommandError, connectionFlags, operatorConnection, parseFlags, UsageError, writeOut, type Env, type Io } from './io.ts';
import { fields, relative, when } from './table.ts';

type MasterStatus = MasterRecord & { counts: Record<AgentStatus, number>; pending: number; countsAt: number; leaseLapsed: boolean };

const RELEASE_HINT = 'release it with `registrar recovery release --reason R` (see first what it marks with --dry-run)';

function recoveryLine(m: MasterStatus, now: number): string {
  const r = m.recovery;
  if (r.state === 'held') return `HELD since ${when(r.windowHold?.since ?? r.livenessHold?.since ?? m.lastSweepAt, now)}: ${r.heldReason ?? 'marking is held'}`;
  if (r.state === 'recovering') return `recovering: the re-registration window closes ${r.deadline === undefined ? 'soon' : relative(r.deadline, now)}, ${m.pending} agents pending`;
  return 'done';
}

function statusText(m: MasterStatus, now: number): string {
  const lease = m.leaseLapsed
    ? `LAPSED ${relative(m.leaseExpiresAt, now)}: no sweeper is running, failure detection has stopped`
    : `expires ${relative(m.leaseExpiresAt, now)}`;
  const text = fields([
    ['epoch', m.epoch],
    ['started', when(m.startedAt, now)],
    ['lease', lease],
    ['last sweep', when(m.lastSweepAt, now)],
    ['recovery', recoveryLine(m, now)],
    ['agents', `${m.counts.admitted} admitted, ${m.counts.unreachable} unreachable, ${m.counts.gone} gone (counted ${relative(m.countsAt, now)})`],
  ]);
  return m.recovery.state === 'held' ? `${text}\nWARNING: unreachable marking is held; ${RELEASE_HINT}\n` : text;
}

export async function masterCommand(argv: string[], env: Env, io: Io): Promise<number> {
  const [sub, ...args] = argv;
  if (sub !== 'status') throw new UsageError(sub ? `unknown command "master ${sub}"` : 'master: a command is required (status), or `registrar serve` to run one');
  const { values } = parseFlags(args, { ...connectionFlags, json: { type: 'boolean' } });
  const status = await callJson<MasterStatus>(operatorConnection(values, env), 'GET', '/api/v1/master');
  io.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status, Date.now()));
  return 0;
}

interface Release {
  released: boolean;
  dryRun: boolean;
  recovery: MasterRecord['recovery'];
  wouldMark: string[];
}

export async function recoveryCommand(argv: string[], env: Env, io: Io): Promise<number> {
  const [sub, ...args] = argv;
  if (sub !== 'release') throw new UsageError(sub ? `unknown command "recovery ${sub}"` : 'recovery: a command is required (release)');
  const { values } = parseFlags(args, { ...connectionFlags, json: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, reason: { type: 'string' } });
  const body = { ...(values['dry-run'] ? { dryRun: true } : {}), ...(values.reason ? { reason: values.reason } : {}) };
  const result = await callJson<Release>(operatorConnection(values, env), 'POST', '/api/v1/master/recovery/release', body);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const n = result.wouldMark.length;
  io.stdout.write(result.dryRun
    ? `dry run: nothing changed; a release would let the next sweep mark ${n} agent${n === 1 ? '' : 's'} unreachable\n`
    : `hold released (recovery ${result.recovery.state}); the next sweep marks ${n} agent${n === 1 ? '' : 's'} unreachable\n`);
  for (const id of result.wouldMark) io.stdout.write(`  ${id}\n`);
  return 0;
}

/**
 * Streams GET /api/v1/registry to stdout as it comes. The API ends a whole export with
 * {"end":true,"count":N} and a cut-short one with an error line: only the first exits 0.
 */
export async function registryCommand(argv: string[], env: Env, io: Io): Promise<number> {
  const [sub, ...args] = argv;
  if (sub !== 'export') throw new UsageError(sub ? `unknown command "registry ${sub}"` : 'registry: a command is required (export)');
  const { values } = parseFlags(args, connectionFlags);
  const res = await request(operatorConnection(values, env), 'GET', '/api/v1/registry');
  const decoder = new TextDecoder();
  let tail = ''; // the text since the last complete line but one: enough to hold the last line
  try {
    for await (const chunk of res.body ?? []) {
      const text = decoder.decode(chunk, { stream: true });
      await writeOut(io.stdout, text);
      tail = (tail + text).slice(-65_536);
    }
  } catch (err) {
    throw new CommandError(`the registry export was cut short: ${(err as Error).message}`);
  }
  const last = tail.trimEnd().split('\n').pop() ?? '';
  let end: { end?: boolean; count?: number; error?: string; message?: string } = {};
  try {
    end = JSON.parse(last) as typeof end;
  } catch {
    // a cut line: handled below
  }
  if (end.error) throw new CommandError(`the registry export is incomplete after ${end.count} records: ${end.error}: ${end.message}`);
  if (!end.end) throw new CommandError('the registry export ended without its end line: it is incomplete');
  io.stderr.write(`exported ${end.count} records\n`);
  return 0;
}
