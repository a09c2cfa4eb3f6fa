// The operator dashboard (issue 14): server-rendered pages over the registrar, signed in once per
// browser session. Every change is a POST form behind a confirmation, refused cross-site (hono/csrf's
// origin check, a SameSite=Strict cookie, and a per-session form value). Only specific paths are
// routed here, never a catch-all, so the API and the other endpoints keep theirs.
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import type { Child } from 'hono/jsx';
import { verifyToken, type TokenSource } from '../master/auth.ts';
import { ApiError, errorHandler } from '../master/errors.ts';
import { actionBody, agentIdParam, drainBody, idParam, MAX_BODY_BYTES, parse } from '../master/schemas.ts';
import { agentView, frameworkView, type Log, type Registrar } from '../registrar.ts';
import { leaseLapsed, type FrameworkStatus } from '../registry/index.ts';
import { constantTimeEqual } from '../secrets.ts';
import { agentPage, DONE, type Action } from './agent.ts';
import { agentsPage, type AgentSearch } from './agents.ts';
import { frameworkPage } from './framework.ts';
import { frameworkSearch, frameworksPage, matches } from './frameworks.ts';
import { errorPage, loginPage } from './login.ts';
import { overviewPage } from './overview.ts';
import { endSession, readSession, startSession, type Session } from './session.ts';

type Env = { Variables: { session: Session } };

/** Rows a page of a table aims for, and how many store pages it reads at most to fill one. */
const PAGE_SIZE = 50;
const MAX_STORE_PAGES = 10;
/** The overview counts frameworks on one page this long, never by a scan: frameworks are few. */
const OVERVIEW_FRAMEWORKS = 100;

/** Filtered store pages may be short or empty: reads a few, from the query's cursor, to fill one page of a table. */
async function fillPage<T>(cursor: string | undefined, read: (page: { cursor?: string; limit: number }) => Promise<{ items: T[]; cursor?: string | undefined }>) {
  const items: T[] = [];
  for (let n = 0; n < MAX_STORE_PAGES && items.length < PAGE_SIZE; n++) {
    const got = await read({ ...(cursor ? { cursor } : {}), limit: PAGE_SIZE - items.length });
    items.push(...got.items);
    cursor = got.cursor;
    if (!cursor) break;
  }
  return { items, ...(cursor ? { cursor } : {}) };
}

const idPrefixProblem = (prefix: string | undefined, kind: string) =>
  prefix !== undefined && !/^[0-9a-fA-F-]{1,64}$/.test(prefix) ? new ApiError(400, 'bad_request', `idPrefix: must be the start of ${kind} id`) : undefined;

const html = (c: Context, node: Child, status: 200 | 400 | 401 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 503 = 200) => {
  // Pages show the registry: never cached, never framed, no scripts, forms only to this origin.
  c.header('Cache-Control', 'no-store');
  c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  c.header('Referrer-Policy', 'same-origin');
  c.header('X-Content-Type-Options', 'nosniff');
  return c.html(`<!doctype html>${String(node)}`, status);
};

export function dashboardRoutes(registrar: Registrar, tokens: TokenSource, log: Log = () => {}) {
  const { clock, policy } = registrar.core;
  const app = new Hono<Env>();
  const apiError = errorHandler(log, Math.max(1, Math.ceil(policy.sweepInterval / 1000)));

  // Errors are the API's (same status, code and message), shown as a page.
  app.onError(async (err, c) => {
    const res = await apiError(err, c);
    const { error, message } = (await res.json()) as { error: string; message: string };
    const session = c.get('session') as Session | undefined;
    return html(c, errorPage(res.status, error, message, session), res.status as 400);
  });

  const signedIn: MiddlewareHandler<Env> = async (c, next) => {
    const session = await readSession(c, tokens, clock.now());
    if (!session) return c.redirect('/login', 303);
    c.set('session', session);
    await next();
  };

  // A form from another site is refused by its Origin (or Sec-Fetch-Site), before anything is read.
  const sameOrigin = csrf();
  const fromThisSite: MiddlewareHandler<Env> = async (c, next) => {
    try {
      await sameOrigin(c, async () => {});
    } catch (err) {
      if (!(err instanceof HTTPException)) throw err;
      throw new ApiError(403, 'forbidden', 'a form from another site cannot act here');
    }
    await next();
  };
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `forms are limited to ${MAX_BODY_BYTES} bytes`);
    },
  });

  /** A signed-in form: its fields, once its session value and (for an action) its confirmation are checked. */
  const form = async (c: Context<Env>, opts: { confirm: boolean }) => {
    const fields = await c.req.parseBody();
    const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : '');
    if (!constantTimeEqual(text('csrf'), c.get('session').csrf)) throw new ApiError(403, 'forbidden', 'the form has expired or came from elsewhere: reload the page and try again');
    if (opts.confirm && text('confirm') !== 'yes') throw new ApiError(400, 'bad_request', 'tick the confirmation box to go ahead');
    return text;
  };
  const actor = (c: Context<Env>, reason: string) => {
    const b = parse(actionBody, reason === '' ? {} : { reason });
    return { by: c.get('session').operator, ...(b.reason ? { reason: b.reason } : {}) };
  };

  app.get('/login', async (c) => {
    if (await readSession(c, tokens, clock.now())) return c.redirect('/', 303);
    return html(c, loginPage());
  });

  app.post('/login', limit, fromThisSite, async (c) => {
    const fields = await c.req.parseBody();
    const presented = typeof fields.token === 'string' ? fields.token.trim() : '';
    let label: string;
    try {
      label = await verifyToken(tokens, 'operator', presented);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      log('dashboard sign-in refused', { status: err.status });
      return html(c, loginPage(err.status === 403 ? 'That is not an operator token.' : 'That token is not valid.'), err.status as 401);
    }
    startSession(c, tokens.current().operator.find((t) => t.label === label)!, clock.now());
    log('dashboard sign-in', { by: label });
    return c.redirect('/', 303);
  });

  app.post('/logout', limit, fromThisSite, signedIn, async (c) => {
    await form(c, { confirm: false });
    endSession(c);
    return c.redirect('/login', 303);
  });

  app.get('/', signedIn, async (c) => {
    const { master, counts, pending, countsAt } = await registrar.masterStatus();
    const onePage = await registrar.listFrameworks({}, { limit: OVERVIEW_FRAMEWORKS });
    const frameworks = { counts: { active: 0, disconnected: 0, completed: 0 } as Record<FrameworkStatus, number>, more: onePage.cursor !== undefined };
    for (const f of onePage.frameworks) frameworks.counts[f.status]++;
    const now = clock.now();
    const notice = c.req.query('done') === 'release' ? 'Hold released: the next sweep marks the agents that missed the window.' : undefined;
    const data = { master, counts, pending, countsAt, frameworks, now, leaseLapsed: leaseLapsed(master, now, policy) };
    return html(c, overviewPage({ title: 'Overview', session: c.get('session') }, data, notice));
  });

  app.get('/agents', signedIn, async (c) => {
    const q = c.req.query();
    const search: AgentSearch = {
      ...(q.hostname ? { hostname: q.hostname } : {}),
      ...(q.idPrefix ? { idPrefix: q.idPrefix } : {}),
      ...(q.status === 'admitted' || q.status === 'unreachable' || q.status === 'gone' ? { status: q.status } : {}),
      ...(q.pending === 'true' ? { pending: true } : {}),
    };
    const problem = idPrefixProblem(search.idPrefix, 'an agent');
    if (problem) throw problem;
    const filter = { ...search, ...(search.idPrefix ? { idPrefix: search.idPrefix.toLowerCase() } : {}) };
    const { items: agents, cursor } = await fillPage(q.cursor || undefined, async (p) => {
      const got = await registrar.listAgents(filter, p);
      return { items: got.agents.map(agentView), cursor: got.cursor };
    });
    agents.sort((a, b) => a.info.hostname.localeCompare(b.info.hostname) || (a.id < b.id ? -1 : 1));
    const { value: master } = await registrar.core.currentMaster();
    return html(c, agentsPage({ title: 'Agents', session: c.get('session') }, { agents, ...(cursor ? { cursor } : {}), search, master, now: clock.now(), first: !q.cursor }));
  });

  app.get('/agents/:agentId', signedIn, async (c) => {
    const agent = agentView(await registrar.getAgent(agentIdParam(c)));
    const { value: master } = await registrar.core.currentMaster();
    const done = c.req.query('done');
    return html(c, agentPage({ title: agent.info.hostname, session: c.get('session') }, { agent, master, now: clock.now(), ...(done && done in DONE ? { done: done as Action } : {}) }));
  });

  app.get('/frameworks', signedIn, async (c) => {
    const q = c.req.query();
    const search = frameworkSearch(q);
    const problem = idPrefixProblem(search.idPrefix, 'a framework');
    if (problem) throw problem;
    const { items: frameworks, cursor } = await fillPage(q.cursor || undefined, async (p) => {
      const got = await registrar.listFrameworks(search.status ? { status: search.status } : {}, p);
      return { items: got.frameworks.map(frameworkView).filter((f) => matches(search, f)), cursor: got.cursor };
    });
    frameworks.sort((a, b) => a.info.name.localeCompare(b.info.name) || (a.id < b.id ? -1 : 1));
    const { value: master } = await registrar.core.currentMaster();
    return html(c, frameworksPage({ title: 'Frameworks', session: c.get('session') }, { frameworks, ...(cursor ? { cursor } : {}), search, master, now: clock.now(), first: !q.cursor }));
  });

  app.get('/frameworks/:frameworkId', signedIn, async (c) => {
    const framework = frameworkView(await registrar.getFramework(idParam(c, 'framework')));
    const { value: master } = await registrar.core.currentMaster();
    const done = c.req.query('done') === 'teardown';
    return html(c, frameworkPage({ title: framework.info.name, session: c.get('session') }, { framework, master, now: clock.now(), done }));
  });

  app.post('/actions/frameworks/:frameworkId/teardown', limit, fromThisSite, signedIn, async (c) => {
    const id = idParam(c, 'framework');
    const field = await form(c, { confirm: true });
    await registrar.teardownFramework(id, actor(c, field('reason')));
    return c.redirect(`/frameworks/${id}?done=teardown`, 303);
  });

  // The actions: each answers with a redirect to the agent's page only once the registrar has
  // committed the change; a refusal or a store failure is an error page instead.
  const act = (action: Action, apply: (id: string, field: (name: string) => string, c: Context<Env>) => Promise<unknown>) =>
    app.post(`/actions/agents/:agentId/${action}`, limit, fromThisSite, signedIn, async (c) => {
      const id = agentIdParam(c);
      const field = await form(c, { confirm: true });
      await apply(id, field, c);
      return c.redirect(`/agents/${id}?done=${action}`, 303);
    });
  act('gone', (id, field, c) => registrar.markGone(id, actor(c, field('reason'))));
  act('deactivate', (id, field, c) => registrar.deactivate(id, actor(c, field('reason'))));
  act('reactivate', (id, field, c) => registrar.reactivate(id, actor(c, field('reason'))));
  act('drain', (id, field, c) => {
    const grace = field('maxGracePeriodSeconds').trim();
    const b = parse(drainBody, { ...(grace === '' ? {} : { maxGracePeriodSeconds: Number(grace) }), markGone: field('markGone') === 'yes' });
    const drain = { ...(b.maxGracePeriodSeconds === undefined ? {} : { maxGracePeriod: b.maxGracePeriodSeconds * 1000 }), ...(b.markGone ? { markGone: true } : {}) };
    return registrar.drain(id, drain, actor(c, field('reason')));
  });

  app.post('/actions/release', limit, fromThisSite, signedIn, async (c) => {
    const field = await form(c, { confirm: true });
    await registrar.releaseHold(actor(c, field('reason')));
    return c.redirect('/?done=release', 303);
  });

  return app;
}
