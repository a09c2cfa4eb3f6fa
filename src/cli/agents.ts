// `registrar agents list|get|mark-gone|drain|deactivate|reactivate`: the operator API's agent calls.
import { ConfigError, parseDuration } from '../config.ts';
import type { AgentView } from '../registrar.ts';
import type { AgentStatus } from '../registry/index.ts';
import { callJson, listAll } from './api.ts';
import { connectionFlags, operatorConnection, parseFlags, requiredId, UsageError, type Connection, type Env, type Io } from './io.ts';
import { duration, eventTable, fields, relative, table, when } from './table.ts';

const STATUSES: AgentStatus[] = ['admitted', 'unreachable', 'gone'];
const json = { json: { type: 'boolean' } } as const;
const reason = { reason: { type: 'string' } } as const;

/** Every agent matching the filter, all pages. */
export const listAgents = (conn: Connection, filter: Record<string, string>) => listAll<AgentView>(conn, '/api/v1/agents', 'agents', filter);

/** What an operator asked of the agent: its drain (with the time left) and deactivation. */
function instructions(agent: AgentView, now: number): string {
  const notes: string[] = [];
  if (agent.drain) {
    const left = agent.drain.state === 'draining' && agent.drain.deadline !== undefined ? ` (${duration(agent.drain.deadline - now)} left)` : '';
    notes.push(`${agent.drain.state}${left}${agent.drain.markGone ? ', then gone' : ''}`);
  }
  if (agent.deactivated) notes.push('deactivated');
  return notes.join(', ') || '-';
}

function agentTable(agents: AgentView[], now: number): string {
  return table(
    ['ID', 'HOSTNAME', 'STATUS', 'EPOCH', 'LAST SEEN', 'DRAIN/DEACTIVATED'],
    agents.map((a) => [a.id, a.info.hostname, a.status, a.epoch, relative(a.lastSeenAt, now), instructions(a, now)]),
  );
}

function agentDetail(a: AgentView, now: number): string {
  const pairs = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `${k}:${v}`).join(',') || '-';
  const lines: [string, string | number][] = [
    ['id', a.id],
    ['hostname', a.info.hostname],
    ['port', a.info.port],
    ['status', a.status],
    ['epoch', a.epoch],
    ['registered', when(a.registeredAt, now)],
    ['last seen', when(a.lastSeenAt, now)],
    ...(a.unreachableAt === undefined ? [] : [['unreachable since', when(a.unreachableAt, now)] as [string, string]]),
    ...(a.goneAt === undefined ? [] : [['gone since', when(a.goneAt, now)] as [string, string]]),
    ['drain/deactivated', instructions(a, now)],
    ['resources', pairs(a.info.resources)],
    ['attributes', pairs(a.info.attributes)],
    ['version', a.info.version || '-'],
    ...(a.info.machineId ? [['machine id', a.info.machineId] as [string, string]] : []),
  ];
  return fields(lines) + eventTable(a.events, now);
}

function gracePeriodSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration('--max-grace-period', text) / 1000;
  } catch (err) {
    throw err instanceof ConfigError ? new UsageError(err.message) : err;
  }
}

/** What an action did, in a line: "agent 6f0c… (web-2) is now draining". */
const actionLine = (a: AgentView, now: number) => `agent ${a.id} (${a.info.hostname}): ${a.status}, ${instructions(a, now)}\n`;

const withReason = (v: Record<string, unknown>) => (v.reason ? { reason: v.reason } : {});

const ACTIONS: Record<string, { path: string; flags: Record<string, { type: 'string' | 'boolean' }>; body(values: Record<string, unknown>): Record<string, unknown> }> = {
  'mark-gone': { path: 'gone', flags: reason, body: withReason },
  deactivate: { path: 'deactivate', flags: reason, body: withReason },
  reactivate: { path: 'reactivate', flags: reason, body: withReason },
  drain: {
    path: 'drain',
    flags: { ...reason, 'max-grace-period': { type: 'string' }, 'mark-gone': { type: 'boolean' } },
    body: (v) => {
      const grace = gracePeriodSeconds(v['max-grace-period'] as string | undefined);
      return { ...withReason(v), ...(grace === undefined ? {} : { maxGracePeriodSeconds: grace }), ...(v['mark-gone'] ? { markGone: true } : {}) };
    },
  },
};

export async function agentsCommand(argv: string[], env: Env, io: Io): Promise<number> {
  const [sub, ...args] = argv;
  const now = () => Date.now();
  if (sub === 'list') {
    const { values } = parseFlags(args, { ...connectionFlags, ...json, status: { type: 'string' }, hostname: { type: 'string' } });
    if (values.status && !STATUSES.includes(values.status as AgentStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    const agents = await listAgents(operatorConnection(values, env), {
      ...(values.status ? { status: values.status } : {}),
      ...(values.hostname ? { hostname: values.hostname } : {}),
    });
    if (values.json) io.stdout.write(`${JSON.stringify(agents, null, 2)}\n`);
    else if (agents.length === 0) io.stderr.write('no agents\n');
    else io.stdout.write(agentTable(agents, now()));
    return 0;
  }
  if (sub === 'get') {
    const { values, positionals } = parseFlags(args, { ...connectionFlags, ...json }, 1);
    const id = requiredId(positionals, `agents ${sub}`, 'agent');
    const agent = await callJson<AgentView>(operatorConnection(values, env), 'GET', `/api/v1/agents/${encodeURIComponent(id)}`);
    io.stdout.write(values.json ? `${JSON.stringify(agent, null, 2)}\n` : agentDetail(agent, now()));
    return 0;
  }
  const action = sub === undefined ? undefined : ACTIONS[sub];
  if (sub !== undefined && action) {
    const { values, positionals } = parseFlags(args, { ...connectionFlags, ...json, ...action.flags }, 1);
    const id = requiredId(positionals, `agents ${sub}`, 'agent');
    const body = action.body(values);
    const agent = await callJson<AgentView>(operatorConnection(values, env), 'POST', `/api/v1/agents/${encodeURIComponent(id)}/${action.path}`, body);
    io.stdout.write(values.json ? `${JSON.stringify(agent, null, 2)}\n` : actionLine(agent, now()));
    return 0;
  }
  throw new UsageError(sub ? `unknown command "agents ${sub}"` : 'agents: a command is required (list, get, mark-gone, drain, deactivate, reactivate)');
}
