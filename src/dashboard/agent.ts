// One agent: its info, resources, attributes, drain and deactivation, last events, and the
// operator's actions, each behind a confirmation.
import type { AgentView } from '../registrar.ts';
import type { MasterRecord } from '../registry/index.ts';
import { agentBadges } from './agents.ts';
import type { Child } from 'hono/jsx';
import { actionForm, eventsTable, h, page, when, type Frame } from './layout.ts';

/** What a finished action says on the agent's page (the only texts a `done` parameter can show). */
export const DONE = {
  gone: 'Marked gone.',
  drain: 'Draining.',
  deactivate: 'Deactivated.',
  reactivate: 'Reactivated.',
} as const;
export type Action = keyof typeof DONE;

const pairs = (record: Record<string, string | number>, empty: string) => {
  const entries = Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return h('p', { class: 'muted' }, empty);
  return h('table', { class: 'pairs' }, h('tbody', null, ...entries.map(([k, v]) => h('tr', null, h('th', null, k), h('td', { class: 'mono' }, String(v))))));
};

function agentAction(agent: AgentView, csrf: string, action: Action, title: string, confirm: string, extra: Child[] = [], danger = false) {
  return actionForm({ action: `/actions/agents/${agent.id}/${action}`, name: action, csrf, title, confirm, extra, danger });
}

export function agentPage(frame: Frame & { session: { operator: string; csrf: string } }, d: { agent: AgentView; master: MasterRecord; now: number; done?: Action }) {
  const { agent, now } = d;
  const { info } = agent;
  const csrf = frame.session.csrf;
  const final = agent.status === 'gone';
  return page(
    frame,
    h('p', null, h('a', { href: '/agents' }, '« Agents')),
    h('h1', null, info.hostname, ' ', h('span', { id: 'status' }, ...agentBadges(agent, d.master))),
    d.done ? h('p', { class: 'banner notice', role: 'status' }, DONE[d.done]) : null,
    h(
      'section',
      { class: 'card' },
      h(
        'dl',
        null,
        ...[
          ['Id', h('code', null, agent.id)],
          ['Hostname', info.hostname],
          ['Port', String(info.port)],
          ['Version', info.version || '—'],
          ['Machine id', info.machineId ?? '—'],
          ['Epoch', String(agent.epoch)],
          ['Registered', when(agent.registeredAt, now)],
          ['Last seen', when(agent.lastSeenAt, now)],
          ['Unreachable since', when(agent.unreachableAt, now)],
          ['Gone since', when(agent.goneAt, now)],
          ['Drain', agent.drain ? [agent.drain.state, agent.drain.deadline !== undefined ? [', grace period ends ', when(agent.drain.deadline, now)] : ', no deadline', agent.drain.markGone ? ', then marked gone' : ''] : 'not draining'],
          ['Deactivated', agent.deactivated ? 'yes' : 'no'],
        ].flatMap(([k, v]) => [h('dt', null, k as string), h('dd', null, v as string)]),
      ),
    ),
    h('h2', null, 'Resources'),
    pairs(info.resources, 'No resources reported.'),
    h('h2', null, 'Attributes'),
    pairs(info.attributes, 'No attributes.'),
    h('h2', null, 'Events'),
    eventsTable(agent.events, now),
    h('h2', null, 'Actions'),
    final
      ? h('p', { class: 'muted' }, 'Gone is final: nothing more can be done with this agent.')
      : h(
          'div',
          { class: 'actions' },
          agentAction(agent, csrf, 'drain', 'Drain', 'Drain this agent', [
            h('label', null, 'Grace period, seconds (optional)', h('input', { name: 'maxGracePeriodSeconds', type: 'number', min: 0, step: 'any' })),
            h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'markGone', value: 'yes' }), ' mark gone once drained'),
          ]),
          agent.deactivated || agent.drain
            ? agentAction(agent, csrf, 'reactivate', 'Reactivate', 'Reactivate this agent (clears drain and deactivation)')
            : agentAction(agent, csrf, 'deactivate', 'Deactivate', 'Deactivate this agent'),
          agentAction(agent, csrf, 'gone', 'Mark gone', 'This agent is gone for good; it cannot come back', [], true),
        ),
  );
}
