// `registrar frameworks list|get|teardown`: the operator API's framework calls (DESIGN.md, "Frameworks").
import type { FrameworkView } from '../registrar.ts';
import type { FrameworkStatus } from '../registry/index.ts';
import { callJson, listAll } from './api.ts';
import { connectionFlags, operatorConnection, parseFlags, requiredId, UsageError, type Env, type Io } from './io.ts';
import { duration, eventTable, fields, relative, table, when } from './table.ts';

const STATUSES: FrameworkStatus[] = ['active', 'disconnected', 'completed'];
const json = { json: { type: 'boolean' } } as const;

const failoverTimeout = (f: FrameworkView) => duration(f.failoverTimeoutSeconds * 1000);

function frameworkTable(frameworks: FrameworkView[], now: number): string {
  return table(
    ['ID', 'NAME', 'USER', 'STATUS', 'EPOCH', 'LAST SEEN', 'FAILOVER TIMEOUT'],
    frameworks.map((f) => [f.id, f.info.name, f.info.user || '-', f.status, f.epoch, relative(f.lastSeenAt, now), failoverTimeout(f)]),
  );
}

function frameworkDetail(f: FrameworkView, now: number): string {
  const { info } = f;
  const optional = (label: string, value: string | undefined): [string, string][] => (value ? [[label, value]] : []);
  const list = (values: string[] | undefined) => (values && values.length > 0 ? values.join(',') : undefined);
  const lines: [string, string | number][] = [
    ['id', f.id],
    ['name', info.name],
    ['user', info.user || '-'],
    ['status', f.status],
    ['epoch', f.epoch],
    ['failover timeout', failoverTimeout(f)],
    ['registered', when(f.registeredAt, now)],
    ['last seen', when(f.lastSeenAt, now)],
    ...(f.disconnectedAt === undefined ? [] : [['disconnected since', when(f.disconnectedAt, now)] as [string, string]]),
    ...(f.completedAt === undefined ? [] : [['completed since', when(f.completedAt, now)] as [string, string]]),
    ...optional('roles', list(info.roles)),
    ...optional('principal', info.principal),
    ...optional('hostname', info.hostname),
    ...optional('web ui', info.webuiUrl),
    ...optional('capabilities', list(info.capabilities)),
  ];
  return fields(lines) + eventTable(f.events, now);
}

export async function frameworksCommand(argv: string[], env: Env, io: Io): Promise<number> {
  const [sub, ...args] = argv;
  const path = (id: string) => `/api/v1/frameworks/${encodeURIComponent(id)}`;
  if (sub === 'list') {
    const { values } = parseFlags(args, { ...connectionFlags, ...json, status: { type: 'string' } });
    if (values.status && !STATUSES.includes(values.status as FrameworkStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    const frameworks = await listAll<FrameworkView>(operatorConnection(values, env), '/api/v1/frameworks', 'frameworks', values.status ? { status: values.status } : {});
    if (values.json) io.stdout.write(`${JSON.stringify(frameworks, null, 2)}\n`);
    else if (frameworks.length === 0) io.stderr.write('no frameworks\n');
    else io.stdout.write(frameworkTable(frameworks, Date.now()));
    return 0;
  }
  if (sub === 'get') {
    const { values, positionals } = parseFlags(args, { ...connectionFlags, ...json }, 1);
    const id = requiredId(positionals, 'frameworks get', 'framework');
    const framework = await callJson<FrameworkView>(operatorConnection(values, env), 'GET', path(id));
    io.stdout.write(values.json ? `${JSON.stringify(framework, null, 2)}\n` : frameworkDetail(framework, Date.now()));
    return 0;
  }
  if (sub === 'teardown') {
    const { values, positionals } = parseFlags(args, { ...connectionFlags, ...json, reason: { type: 'string' } }, 1);
    const id = requiredId(positionals, 'frameworks teardown', 'framework');
    const body = values.reason ? { reason: values.reason } : {};
    const framework = await callJson<FrameworkView>(operatorConnection(values, env), 'POST', `${path(id)}/teardown`, body);
    io.stdout.write(values.json ? `${JSON.stringify(framework, null, 2)}\n` : `framework ${framework.id} (${framework.info.name}): ${framework.status}\n`);
    return 0;
  }
  throw new UsageError(sub ? `unknown command "frameworks ${sub}"` : 'frameworks: a command is required (list, get, teardown)');
}
