// The overview: the master's epoch, lease and recovery, with a warning and a release form while
// marking is held, and the registry's counts as of the last sweep.
import type { AgentStatus, FrameworkStatus, MasterRecord } from '../registry/index.ts';
import { badge, confirmBox, csrfField, h, page, when, type Frame } from './layout.ts';

export interface OverviewData {
  master: MasterRecord;
  counts: Record<AgentStatus, number>;
  pending: number;
  countsAt: number;
  leaseLapsed: boolean;
  /** Counted on the first page of frameworks; `more` when there are others beyond it. */
  frameworks: { counts: Record<FrameworkStatus, number>; more: boolean };
  now: number;
}

export function heldBanner(master: MasterRecord, csrf: string) {
  return h(
    'section',
    { class: 'banner warning', role: 'alert', id: 'held' },
    h('h2', { style: 'margin-top:0' }, 'Marking is held'),
    h('p', null, master.recovery.heldReason ?? 'Too many agents went silent at once, which looks like an outage rather than mass failure.'),
    h('p', null, 'No agent is marked unreachable while the hold lasts. Release it once you know the missing agents are really gone; the next sweep then marks them.'),
    h(
      'form',
      { method: 'post', action: '/actions/release', class: 'inline' },
      csrfField(csrf),
      h('label', null, 'Reason (optional)', h('input', { name: 'reason', maxlength: 1024, size: 40 })),
      confirmBox('I understand the missing agents will be marked unreachable'),
      h('button', { type: 'submit', class: 'danger' }, 'Release hold'),
    ),
  );
}

export function overviewPage(frame: Frame & { session: { operator: string; csrf: string } }, d: OverviewData, notice?: string) {
  const { master, counts, now } = d;
  const recovery = master.recovery;
  const count = (label: string, n: number, kind: string, href: string) =>
    h('a', { class: 'card count', href, style: 'text-decoration:none;color:inherit' }, h('b', null, String(n)), badge(kind, label));
  return page(
    frame,
    h('h1', null, 'Overview'),
    notice ? h('p', { class: 'banner notice', role: 'status' }, notice) : null,
    recovery.state === 'held' ? heldBanner(master, frame.session.csrf) : null,
    d.leaseLapsed
      ? h('p', { class: 'banner warning', role: 'alert' }, 'The master lease has lapsed: no sweeper is running, so failure detection has stopped.')
      : null,
    h(
      'section',
      { class: 'card' },
      h(
        'dl',
        null,
        h('dt', null, 'Epoch'),
        h('dd', { id: 'epoch' }, String(master.epoch)),
        h('dt', null, 'Lease expires'),
        h('dd', null, when(master.leaseExpiresAt, now), d.leaseLapsed ? badge('lapsed') : null),
        h('dt', null, 'Last sweep'),
        h('dd', null, when(master.lastSweepAt, now)),
        h('dt', null, 'Recovery'),
        h('dd', { id: 'recovery' }, badge(recovery.state), recovery.state === 'recovering' ? ['window closes ', when(recovery.deadline, now)] : null),
        recovery.releasedAt !== undefined ? [h('dt', null, 'Last release'), h('dd', null, when(recovery.releasedAt, now), ` by ${recovery.releasedBy ?? '?'}`, recovery.releaseReason ? `: ${recovery.releaseReason}` : '')] : null,
        h('dt', null, 'Master started'),
        h('dd', null, when(master.startedAt, now)),
      ),
    ),
    h('h2', null, 'Agents'),
    h(
      'div',
      { class: 'counts', id: 'counts' },
      count('admitted', counts.admitted, 'admitted', '/agents?status=admitted'),
      count('unreachable', counts.unreachable, 'unreachable', '/agents?status=unreachable'),
      count('gone', counts.gone, 'gone', '/agents?status=gone'),
      count('pending re-registration', d.pending, 'pending', '/agents?pending=true'),
    ),
    h('p', { class: 'muted' }, 'Counted by the last sweep: ', when(d.countsAt, now)),
    h('h2', null, 'Frameworks'),
    h(
      'div',
      { class: 'counts', id: 'framework-counts' },
      ...(['active', 'disconnected', 'completed'] as const).map((s) => count(s, d.frameworks.counts[s], s, `/frameworks?status=${s}`)),
    ),
    d.frameworks.more ? h('p', { class: 'muted' }, 'Counted on the first page of frameworks only: there are more. ', h('a', { href: '/frameworks' }, 'See them all')) : null,
  );
}
