// The agent table: search by hostname, id prefix and status; paged with the API's cursors.
import type { AgentFilter, AgentView } from '../registrar.ts';
import { isPending, type MasterRecord } from '../registry/index.ts';
import { badge, h, page, pager, when, type Frame } from './layout.ts';

export interface AgentSearch {
  hostname?: string;
  idPrefix?: string;
  status?: AgentFilter['status'];
  pending?: boolean;
}

/** An agent's badges: its status, then what an operator asked of it and whether it is awaited. */
export function agentBadges(agent: AgentView, master: MasterRecord) {
  return [
    badge(agent.status),
    agent.drain ? badge(agent.drain.state) : null,
    agent.deactivated ? badge('deactivated') : null,
    isPending(master, agent) ? badge('pending', 'pending re-registration') : null,
  ];
}

export function agentsPage(frame: Frame, d: { agents: AgentView[]; cursor?: string; search: AgentSearch; master: MasterRecord; now: number; first: boolean }) {
  const { search, now } = d;
  const option = (value: string, text: string) => h('option', { value, selected: (search.status ?? '') === value }, text);
  return page(
    frame,
    h('h1', null, 'Agents'),
    h(
      'form',
      { method: 'get', action: '/agents', class: 'inline card', role: 'search' },
      h('label', null, 'Hostname (exact)', h('input', { name: 'hostname', value: search.hostname ?? '', maxlength: 255 })),
      h('label', null, 'Id prefix', h('input', { name: 'idPrefix', value: search.idPrefix ?? '', maxlength: 64, pattern: '[0-9a-fA-F-]*', class: 'mono' })),
      h('label', null, 'Status', h('select', { name: 'status' }, option('', 'any'), option('admitted', 'admitted'), option('unreachable', 'unreachable'), option('gone', 'gone'))),
      search.pending ? h('input', { type: 'hidden', name: 'pending', value: 'true' }) : null,
      h('button', { type: 'submit' }, 'Search'),
      h('a', { href: '/agents' }, 'Clear'),
    ),
    search.pending ? h('p', null, badge('pending', 'pending re-registration'), ' only: admitted agents that have not re-registered since the last failover.') : null,
    d.agents.length === 0
      ? h('p', { class: 'card muted', id: 'no-agents' }, d.cursor ? 'No matching agents on this page; there are more.' : 'No matching agents.')
      : h(
          'table',
          { id: 'agents' },
          h('thead', null, h('tr', null, ...['Hostname', 'Id', 'Status', 'Last seen', 'Registered', 'Epoch'].map((t) => h('th', null, t)))),
          h(
            'tbody',
            null,
            ...d.agents.map((a) =>
              h(
                'tr',
                { 'data-agent': a.id },
                h('td', null, h('a', { href: `/agents/${a.id}` }, a.info.hostname)),
                h('td', { class: 'mono', title: a.id }, a.id.slice(0, 8)),
                h('td', null, ...agentBadges(a, d.master)),
                h('td', null, when(a.lastSeenAt, now)),
                h('td', null, when(a.registeredAt, now)),
                h('td', null, String(a.epoch)),
              ),
            ),
          ),
        ),
    pager('/agents', search, d),
  );
}
