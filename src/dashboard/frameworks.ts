// The framework table: search by name, id prefix and status; paged with the API's cursors.
import { duration } from '../cli/table.ts';
import type { FrameworkView } from '../registrar.ts';
import { isFrameworkPending, type FrameworkStatus, type MasterRecord } from '../registry/index.ts';
import { badge, h, page, pager, when, type Frame } from './layout.ts';

export interface FrameworkSearch {
  /** Part of the name, in any case. */
  name?: string;
  idPrefix?: string;
  status?: FrameworkStatus;
}

/** The search a page's query asks for; undefined fields are left out. */
export function frameworkSearch(q: Record<string, string>): FrameworkSearch {
  return {
    ...(q.name ? { name: q.name } : {}),
    ...(q.idPrefix ? { idPrefix: q.idPrefix } : {}),
    ...(q.status === 'active' || q.status === 'disconnected' || q.status === 'completed' ? { status: q.status } : {}),
  };
}

/** The search's name and id prefix (the registrar filters the status). */
export function matches(search: FrameworkSearch, f: FrameworkView): boolean {
  return (!search.name || f.info.name.toLowerCase().includes(search.name.toLowerCase())) && (!search.idPrefix || f.id.startsWith(search.idPrefix.toLowerCase()));
}

/** A framework's badges: its status, and whether it is awaited after a failover (as an agent). */
export function frameworkBadges(f: FrameworkView, master: MasterRecord) {
  return [badge(f.status), isFrameworkPending(master, f) ? badge('pending', 'pending re-registration') : null];
}

export const failoverTimeout = (f: FrameworkView) => duration(f.failoverTimeoutSeconds * 1000);

export function frameworksPage(frame: Frame, d: { frameworks: FrameworkView[]; cursor?: string; search: FrameworkSearch; master: MasterRecord; now: number; first: boolean }) {
  const { search, now } = d;
  const option = (value: string, text: string) => h('option', { value, selected: (search.status ?? '') === value }, text);
  return page(
    frame,
    h('h1', null, 'Frameworks'),
    h(
      'form',
      { method: 'get', action: '/frameworks', class: 'inline card', role: 'search' },
      h('label', null, 'Name contains', h('input', { name: 'name', value: search.name ?? '', maxlength: 255 })),
      h('label', null, 'Id prefix', h('input', { name: 'idPrefix', value: search.idPrefix ?? '', maxlength: 64, pattern: '[0-9a-fA-F-]*', class: 'mono' })),
      h('label', null, 'Status', h('select', { name: 'status' }, option('', 'any'), option('active', 'active'), option('disconnected', 'disconnected'), option('completed', 'completed'))),
      h('button', { type: 'submit' }, 'Search'),
      h('a', { href: '/frameworks' }, 'Clear'),
    ),
    d.frameworks.length === 0
      ? h('p', { class: 'card muted', id: 'no-frameworks' }, d.cursor ? 'No matching frameworks on this page; there are more.' : 'No matching frameworks.')
      : h(
          'table',
          { id: 'frameworks' },
          h('thead', null, h('tr', null, ...['Name', 'Id', 'User', 'Status', 'Last seen', 'Registered', 'Epoch', 'Failover timeout'].map((t) => h('th', null, t)))),
          h(
            'tbody',
            null,
            ...d.frameworks.map((f) =>
              h(
                'tr',
                { 'data-framework': f.id },
                h('td', null, h('a', { href: `/frameworks/${f.id}` }, f.info.name)),
                h('td', { class: 'mono', title: f.id }, f.id.slice(0, 8)),
                h('td', null, f.info.user || '—'),
                h('td', null, ...frameworkBadges(f, d.master)),
                h('td', null, when(f.lastSeenAt, now)),
                h('td', null, when(f.registeredAt, now)),
                h('td', null, String(f.epoch)),
                h('td', null, failoverTimeout(f)),
              ),
            ),
          ),
        ),
    pager('/frameworks', search, d),
  );
}
