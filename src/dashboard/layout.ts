// The dashboard's page frame, styles and small parts shared by its pages. Pages are hono/jsx
// elements built with `h` (its createElement): Node runs the sources as they are (type stripping
// only, no build step), and that cannot read .tsx. hono/jsx escapes every text and attribute.
import { type Child, jsx as h } from 'hono/jsx';
import { relative } from '../cli/table.ts';
import type { AgentEvent, AgentStatus, FrameworkStatus } from '../registry/index.ts';

export { h };

const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1d232a;background:#f4f6f8}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1.5em;background:#1d2b3a;color:#fff}
header a{color:#cfe3ff;text-decoration:none}header a:hover{text-decoration:underline}header .me{margin-left:auto;opacity:.85}
header form{display:inline}header button{background:none;border:1px solid #cfe3ff;color:#cfe3ff;border-radius:3px;cursor:pointer}
main{max-width:1100px;margin:1.5em auto;padding:0 1.5em}h1{font-size:1.4em;margin:.2em 0 .8em}h2{font-size:1.1em;margin:1.4em 0 .5em}
.card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:1em 1.2em;margin-bottom:1em}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.4em .6em;border-bottom:1px solid #e3e7eb;vertical-align:top}
th{background:#eef1f4;font-weight:600}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.2em;margin:0}dt{color:#57606a}dd{margin:0}
.badge{display:inline-block;padding:.05em .55em;border-radius:1em;font-size:.85em;font-weight:600;border:1px solid transparent;margin-right:.25em}
.admitted,.active,.done{background:#dafbe1;color:#116329}.unreachable,.disconnected,.recovering{background:#fff1d6;color:#7d4e00}.gone,.completed{background:#e5e7ea;color:#424a53}
.held,.lapsed{background:#ffe1e1;color:#a40e26}.draining,.drained,.deactivated,.pending{background:#ddf4ff;color:#0a3069}
.banner{border-radius:6px;padding:.9em 1.2em;margin-bottom:1em;border:1px solid}.warning{background:#fff0f0;border-color:#e5a0a8;color:#6e0b1d}
.notice{background:#eef9f0;border-color:#9ed3a8}.error{background:#fff0f0;border-color:#e5a0a8}
.counts{display:flex;gap:1em;flex-wrap:wrap}.count{flex:1;min-width:8em;text-align:center}.count b{display:block;font-size:1.8em}
form.inline{display:flex;gap:.6em;align-items:end;flex-wrap:wrap}label{display:flex;flex-direction:column;gap:.2em;font-size:.9em;color:#57606a}
label.check{flex-direction:row;align-items:center;color:#1d232a}input,select,button{font:inherit;padding:.3em .5em}
button{border:1px solid #8c959f;border-radius:4px;background:#f6f8fa;cursor:pointer}button.danger{background:#cf222e;border-color:#a40e26;color:#fff}
.actions{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:1em}.actions form{display:flex;flex-direction:column;gap:.5em}
.pairs{width:auto;min-width:40%}
code,.mono{font-family:ui-monospace,monospace;font-size:.92em}.muted{color:#57606a}.pager{margin-top:.8em;display:flex;gap:1em}
`;

export interface Frame {
  title: string;
  /** The signed-in operator's label, and the session's form value; absent on the login page. */
  session?: { operator: string; csrf: string };
}

export function page(frame: Frame, ...content: Child[]) {
  const { title, session } = frame;
  return h(
    'html',
    { lang: 'en' },
    h('head', null, h('meta', { charset: 'utf-8' }), h('meta', { name: 'viewport', content: 'width=device-width' }), h('title', null, `${title} · registrar`), h('style', null, CSS)),
    h(
      'body',
      null,
      h(
        'header',
        null,
        h('strong', null, 'registrar'),
        session ? [h('a', { href: '/' }, 'Overview'), h('a', { href: '/agents' }, 'Agents'), h('a', { href: '/frameworks' }, 'Frameworks')] : null,
        session
          ? h('span', { class: 'me' }, 'signed in as ', h('b', null, session.operator), ' ', h('form', { method: 'post', action: '/logout' }, csrfField(session.csrf), h('button', { type: 'submit' }, 'Sign out')))
          : null,
      ),
      h('main', null, ...content),
    ),
  );
}

export const csrfField = (csrf: string) => h('input', { type: 'hidden', name: 'csrf', value: csrf });

/** The confirmation every action needs: a required checkbox (checked again on the server). */
export const confirmBox = (text: string) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'confirm', value: 'yes', required: true }), ` ${text}`);

export const badge = (kind: AgentStatus | FrameworkStatus | string, text: string = kind) => h('span', { class: `badge ${kind}` }, text);

/** A time as a UTC date (the server cannot know the browser's zone) with how long ago it is, as the CLI says it: "2026-05-01 12:00:03 UTC (3m ago)". */
export function when(at: number | undefined, now: number) {
  if (at === undefined) return h('span', { class: 'muted' }, '—');
  const date = new Date(at).toISOString();
  return h('time', { datetime: date, title: date }, `${date.slice(0, 19).replace('T', ' ')} UTC (${relative(at, now)})`);
}

/** A list page's address with its search and (for the next page) the API's cursor: `/agents?hostname=web-1&cursor=…`. */
export function listHref(path: string, search: object, cursor?: string): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...search, cursor })) if (v !== undefined && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}

/** A list's links to its first page (unless on it) and the next (while the API gave a cursor). */
export function pager(path: string, search: object, d: { cursor?: string; first: boolean }) {
  return h(
    'nav',
    { class: 'pager' },
    d.first ? null : h('a', { href: listHref(path, search) }, '« First page'),
    d.cursor ? h('a', { href: listHref(path, search, d.cursor), rel: 'next' }, 'Next page »') : null,
  );
}

/** A record's last events, newest first. */
export function eventsTable(events: AgentEvent[], now: number) {
  if (events.length === 0) return h('p', { class: 'muted' }, 'No events.');
  return h(
    'table',
    { id: 'events' },
    h('thead', null, h('tr', null, h('th', null, 'When'), h('th', null, 'Event'), h('th', null, 'By'), h('th', null, 'Reason'))),
    h('tbody', null, ...[...events].reverse().map((e) => h('tr', null, h('td', null, when(e.at, now)), h('td', null, e.type), h('td', null, e.by), h('td', null, e.reason ?? '')))),
  );
}

/** An action on a record: a form (id `action-<name>`) with the session value, an optional reason and its confirmation. */
export function actionForm(a: { action: string; name: string; csrf: string; title: string; confirm: string; extra?: Child[]; danger?: boolean }) {
  return h(
    'form',
    { method: 'post', action: a.action, class: 'card', id: `action-${a.name}` },
    h('strong', null, a.title),
    csrfField(a.csrf),
    ...(a.extra ?? []),
    h('label', null, 'Reason (optional)', h('input', { name: 'reason', maxlength: 1024 })),
    confirmBox(a.confirm),
    h('button', { type: 'submit', class: a.danger ? 'danger' : '' }, a.title),
  );
}
