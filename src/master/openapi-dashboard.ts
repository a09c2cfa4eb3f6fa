// The dashboard (src/dashboard) in the OpenAPI document: HTML pages for a browser, signed in once with
// an operator token (POST /login) and then carried by a session cookie. Its forms take
// application/x-www-form-urlencoded fields, each with the session's `csrf` value; errors are pages
// with the API's status, code and message.
import { z } from 'zod';
import { frameworkListQuery } from './framework-schemas.ts';
import type { Operation } from './openapi-operations.ts';
import { listQuery } from './schemas.ts';

const page = (id: string, summary: string, description: string, query?: Operation['query']): Operation => ({
  id,
  summary,
  description,
  tag: 'dashboard',
  security: 'session',
  ...(query ? { query } : {}),
  ok: { status: 200, description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
  redirect: 'not signed in: to /login',
  errorContent: 'html',
  errors: { 400: '', 404: '', 503: '' },
});

const FORM_FIELDS = {
  csrf: { type: 'string', description: "the session's form value, from the page" },
  confirm: { type: 'string', enum: ['yes'], description: 'the confirmation box' },
  reason: { type: 'string', description: 'recorded with the event' },
};

const action = (id: string, summary: string, extra: Record<string, unknown> = {}, gone = true): Operation => ({
  id,
  summary,
  description: 'A confirmed form; then a redirect to the page it was sent from. Forms from another site are refused (403).',
  tag: 'dashboard',
  security: 'session',
  form: { type: 'object', properties: { ...FORM_FIELDS, ...extra }, required: ['csrf', 'confirm'] },
  ok: { status: 303, description: 'done: a redirect to the page, which says so' },
  errorContent: 'html',
  errors: { 400: 'not confirmed, or an invalid field', 403: 'a form from another site, or an expired csrf value', 404: '', ...(gone ? { 410: '' } : {}), 413: '', 503: '' },
});

export const DASHBOARD_OPERATIONS: Record<string, Operation> = {
  'GET /login': {
    id: 'dashboardLoginPage',
    summary: 'Sign-in page',
    tag: 'dashboard',
    security: 'public',
    ok: { status: 200, description: 'the form (a redirect to / when already signed in)', content: { 'text/html': { schema: { type: 'string' } } } },
    errors: {},
  },
  'POST /login': {
    id: 'dashboardLogin',
    summary: 'Sign in with an operator token',
    description: 'Starts a browser session: a cookie that names the token\'s label and never holds the token.',
    tag: 'dashboard',
    security: 'public',
    form: { type: 'object', properties: { token: { type: 'string', description: 'an operator token' } }, required: ['token'] },
    ok: { status: 303, description: 'signed in: a redirect to /, with the session cookie' },
    errorContent: 'html',
    errors: { 401: 'not a valid token: the form again', 403: 'not an operator token, or a form from another site', 413: '' },
  },
  'POST /logout': {
    ...action('dashboardLogout', 'Sign out', {}, false),
    form: { type: 'object', properties: { csrf: FORM_FIELDS.csrf }, required: ['csrf'] },
    ok: { status: 303, description: 'signed out: a redirect to /login' },
    errors: { 403: 'a form from another site, or an expired csrf value', 413: '' },
  },
  'GET /': page('dashboardOverview', 'Overview', 'The master epoch, lease and recovery state (with a release button when marking is held), and the counts.'),
  'GET /agents': page('dashboardAgents', 'Agents', 'A searchable, paged table of agents.', listQuery.pick({ hostname: true, idPrefix: true, status: true, pending: true, cursor: true })),
  'GET /agents/{agentId}': page('dashboardAgent', 'An agent', 'Its record, events and actions.'),
  'POST /actions/agents/{agentId}/gone': action('dashboardMarkGone', 'Mark an agent gone', {}, false),
  'POST /actions/agents/{agentId}/deactivate': action('dashboardDeactivate', 'Deactivate an agent'),
  'POST /actions/agents/{agentId}/reactivate': action('dashboardReactivate', 'Reactivate an agent'),
  'POST /actions/agents/{agentId}/drain': action('dashboardDrain', 'Drain an agent', {
    maxGracePeriodSeconds: { type: 'string', description: 'seconds; empty for no limit' },
    markGone: { type: 'string', enum: ['yes'], description: 'mark it gone once drained' },
  }),
  'GET /frameworks': page(
    'dashboardFrameworks',
    'Frameworks',
    'A searchable, paged table of frameworks.',
    frameworkListQuery.pick({ status: true, cursor: true }).extend({ name: z.string().max(255).optional().describe('part of the name, in any case'), idPrefix: listQuery.shape.idPrefix }),
  ),
  'GET /frameworks/{frameworkId}': page('dashboardFramework', 'A framework', 'Its record, events and teardown.'),
  'POST /actions/frameworks/{frameworkId}/teardown': action('dashboardTeardownFramework', 'Tear a framework down (completed, final)', {}, false),
  'POST /actions/release': {
    ...action('dashboardRelease', 'Release a recovery hold', {}, false),
    errors: { 400: 'not confirmed', 403: 'a form from another site, or an expired csrf value', 409: '`not_held`: marking is not held', 413: '', 503: '' },
  },
};
