// One framework: what its scheduler reported, its times (with when a disconnected one's failover
// timeout runs out), its last events, and the operator's teardown behind a confirmation.
import type { FrameworkView } from '../registrar.ts';
import { failoverEndsAt, type MasterRecord } from '../registry/index.ts';
import { failoverTimeout, frameworkBadges } from './frameworks.ts';
import { actionForm, eventsTable, h, page, when, type Frame } from './layout.ts';

/** The scheduler's web UI as a link only when it is http(s): the address is whatever the scheduler sent. */
const webUi = (url: string | undefined) =>
  !url ? '—' : /^https?:\/\//i.test(url) ? h('a', { href: url, rel: 'noreferrer noopener', target: '_blank' }, url) : h('code', null, url);

const list = (values: string[] | undefined) => (values && values.length > 0 ? values.join(', ') : '—');

export function frameworkPage(frame: Frame & { session: { operator: string; csrf: string } }, d: { framework: FrameworkView; master: MasterRecord; now: number; done?: boolean }) {
  const { framework: f, now } = d;
  const { info } = f;
  return page(
    frame,
    h('p', null, h('a', { href: '/frameworks' }, '« Frameworks')),
    h('h1', null, info.name, ' ', h('span', { id: 'status' }, ...frameworkBadges(f, d.master))),
    d.done ? h('p', { class: 'banner notice', role: 'status' }, 'Torn down.') : null,
    h(
      'section',
      { class: 'card' },
      h(
        'dl',
        null,
        ...[
          ['Id', h('code', null, f.id)],
          ['Name', info.name],
          ['User', info.user || '—'],
          ['Roles', list(info.roles)],
          ['Principal', info.principal || '—'],
          ['Hostname', info.hostname || '—'],
          ['Web UI', webUi(info.webuiUrl)],
          ['Capabilities', list(info.capabilities)],
          ['Epoch', String(f.epoch)],
          ['Failover timeout', failoverTimeout(f)],
          ['Registered', when(f.registeredAt, now)],
          ['Last seen', when(f.lastSeenAt, now)],
          ['Disconnected since', when(f.disconnectedAt, now)],
          ...(f.status === 'disconnected' ? [['Completed unless it re-registers', when(failoverEndsAt(f, d.master), now)]] : []),
          ['Completed since', when(f.completedAt, now)],
        ].flatMap(([k, v]) => [h('dt', null, k as string), h('dd', null, v as string)]),
      ),
    ),
    h('h2', null, 'Events'),
    eventsTable(f.events, now),
    h('h2', null, 'Actions'),
    f.status === 'completed'
      ? h('p', { class: 'muted' }, 'Completed is final: nothing more can be done with this framework.')
      : h(
          'div',
          { class: 'actions' },
          actionForm({
            action: `/actions/frameworks/${f.id}/teardown`,
            name: 'teardown',
            csrf: frame.session.csrf,
            title: 'Tear down',
            confirm: 'Tear this framework down for good; its scheduler cannot re-register',
            danger: true,
          }),
        ),
  );
}
