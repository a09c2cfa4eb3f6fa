// The dashboard through app.request(): signing in, the pages, the actions and their defences.
import { describe, expect, it } from 'vitest';
import { browser, FORM, signIn } from '../../test/support/dashboard.ts';
import { OPERATOR, JOIN, testMaster } from '../../test/support/master.ts';
import { dump, faultyStore, heldMaster, registerAgent, servingMaster, type TestMaster } from '../../test/support/master-http.ts';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { SESSION_MAX_AGE } from './session.ts';

const statusOf = async (m: TestMaster, id: string) => (await m.api.operator('GET', `/agents/${id}`)).body;

describe('the dashboard: signing in', () => {
  it('sets a session cookie (HttpOnly, SameSite=Strict, Path=/, no Max-Age) that never holds the token', async () => {
    const m = await servingMaster();
    const { res, cookie } = await signIn(m);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect(cookie).toMatch(/^registrar_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(OPERATOR);
    expect(cookie).not.toMatch(/Max-Age|Expires|Secure/);
    expect(m.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain(OPERATOR);
  });

  it('marks the cookie Secure over HTTPS', async () => {
    const m = await servingMaster();
    const res = await m.app.request('https://registrar.example/login', {
      method: 'POST',
      headers: { ...FORM, origin: 'https://registrar.example' },
      body: `token=${OPERATOR}`,
    });
    expect(res.headers.get('set-cookie')).toMatch(/; Secure; SameSite=Strict$/);
  });

  it('refuses a wrong token, and a join token, with a page and no cookie', async () => {
    const m = await servingMaster();
    for (const [token, text] of [['not-a-token-0123456789', 'not valid'], [JOIN, 'not an operator token']] as const) {
      const { res } = await signIn(m, token);
      expect(res.status).toBe(token === JOIN ? 403 : 401);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toContain(text);
    }
    expect(m.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain(JOIN);
  });

  it('sends a browser without a valid session to the sign-in page', async () => {
    const m = await servingMaster();
    const { session } = await signIn(m);
    const forged = session.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A'));
    for (const cookie of [undefined, forged, 'registrar_session=garbage']) {
      for (const path of ['/', '/agents', `/agents/${crypto.randomUUID()}`, '/frameworks', `/frameworks/${crypto.randomUUID()}`]) {
        const res = await m.app.request(path, { headers: cookie ? { cookie } : {} });
        expect(res.status, `${path} with ${cookie}`).toBe(303);
        expect(res.headers.get('location')).toBe('/login');
      }
    }
    expect((await m.app.request('/login')).status).toBe(200);
  });

  it('ends a session after its maximum age, and on signing out', async () => {
    const m = await servingMaster();
    const b = await browser(m);
    m.clock.advance(SESSION_MAX_AGE + 1);
    expect((await b.get('/')).status).toBe(303);

    const again = await browser(m);
    const out = await again.post('/logout', { csrf: again.csrf });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/login');
    const res = await m.app.request('/logout', { method: 'POST', headers: { ...FORM, cookie: again.session }, body: `csrf=${again.csrf}` });
    expect(res.headers.get('set-cookie')).toMatch(/^registrar_session=; Max-Age=0; Path=\//);
  });

  it('leaves the API and the other endpoints alone', async () => {
    const m = await servingMaster();
    expect((await m.app.request('/health')).headers.get('content-type')).toMatch(/json/);
    expect((await m.api.operator('GET', '/master')).status).toBe(200);
    const unknown = await m.app.request('/no-such-page');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'not_found' });
  });
});

describe('the dashboard: pages', () => {
  it('shows the master and the counts on the overview', async () => {
    const m = await servingMaster();
    await registerAgent(m, { hostname: 'web-1' });
    m.clock.advance(m.policy.sweepInterval);
    await m.sweep(); // counts them
    const { status, headers, html } = await (await browser(m)).get('/');
    expect(status).toBe(200);
    expect(headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Epoch');
    expect(html).toMatch(/<b>1<\/b><span class="badge admitted">admitted/);
    expect(html).toContain('signed in as <b>alice</b>');
    expect(html).not.toContain('id="held"');
  });

  it('lists the agents, searches by hostname, id prefix and status, and escapes what agents report', async () => {
    const m = await servingMaster();
    const web = await registerAgent(m, { hostname: 'web-1', attributes: { rack: 'r1' } });
    const evil = await registerAgent(m, { hostname: '<script>alert(1)</script>', resources: { '<b>cpus</b>': 4 } });
    const b = await browser(m);
    const all = await b.get('/agents');
    expect(all.html).toContain(`href="/agents/${web.id}">web-1</a>`);
    expect(all.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(all.html).not.toContain('<script>');
    expect((await b.get(`/agents/${evil.id}`)).html).toContain('&lt;b&gt;cpus&lt;/b&gt;');

    const byHost = await b.get('/agents?hostname=web-1');
    expect(byHost.html).toContain(web.id);
    expect(byHost.html).not.toContain(evil.id);
    const byPrefix = await b.get(`/agents?idPrefix=${evil.id.slice(0, 8).toUpperCase()}`);
    expect(byPrefix.html).toContain(evil.id);
    expect(byPrefix.html).not.toContain(web.id);
    expect((await b.get('/agents?status=gone')).html).toContain('No matching agents.');
    expect((await b.get('/agents?idPrefix=zz')).status).toBe(400);
  });

  it('pages through the agents with the cursor', async () => {
    const m = await servingMaster();
    for (let i = 0; i < 55; i++) await registerAgent(m, { hostname: `node-${String(i).padStart(2, '0')}` });
    const b = await browser(m);
    const first = await b.get('/agents');
    expect(first.html.match(/data-agent=/g)).toHaveLength(50);
    const next = /href="(\/agents\?cursor=[^"]+)" rel="next"/.exec(first.html)![1]!.replace(/&amp;/g, '&');
    const second = await b.get(next);
    expect(second.html.match(/data-agent=/g)).toHaveLength(5);
    expect(second.html).not.toContain('rel="next"');
    const ids = (html: string) => [...html.matchAll(/data-agent="([^"]+)"/g)].map((x) => x[1]);
    expect(new Set([...ids(first.html), ...ids(second.html)]).size).toBe(55);
  });

  it('shows an agent in detail, and a readable page for an unknown one', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m, { hostname: 'db-1', resources: { cpus: 8, mem: 32768 }, attributes: { zone: 'eu-1' }, version: '1.2.3' });
    const b = await browser(m);
    const { html } = await b.get(`/agents/${a.id}`);
    for (const text of ['db-1', a.id, 'cpus', '32768', 'zone', 'eu-1', '1.2.3', 'not draining', 'id="action-gone"', 'id="action-drain"', 'id="action-deactivate"']) expect(html).toContain(text);
    const unknown = await b.get(`/agents/${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain('not_found');
    expect((await b.get('/agents/not-a-uuid')).status).toBe(404);
  });
});

describe('the dashboard: actions', () => {
  it('marks an agent gone through its confirmed form', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m, { hostname: 'web-1' });
    const b = await browser(m);
    const res = await b.post(`/actions/agents/${a.id}/gone`, { csrf: b.csrf, confirm: 'yes', reason: 'disk died' });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/agents/${a.id}?done=gone`);
    const record = await statusOf(m, a.id);
    expect(record.status).toBe('gone');
    expect(record.events.at(-1)).toMatchObject({ by: 'alice', reason: 'disk died' });
    const page = await b.get(res.location!);
    expect(page.html).toContain('Marked gone.');
    expect(page.html).toContain('<span class="badge gone">gone</span>');
  });

  it('drains, deactivates and reactivates', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const b = await browser(m);
    expect((await b.post(`/actions/agents/${a.id}/drain`, { csrf: b.csrf, confirm: 'yes', maxGracePeriodSeconds: '60', markGone: 'yes' })).status).toBe(303);
    expect((await statusOf(m, a.id)).drain).toMatchObject({ state: 'draining', markGone: true, deadline: m.clock.now() + 60_000 });
    expect((await b.post(`/actions/agents/${a.id}/reactivate`, { csrf: b.csrf, confirm: 'yes' })).status).toBe(303);
    expect((await statusOf(m, a.id)).drain).toBeUndefined();
    expect((await b.post(`/actions/agents/${a.id}/deactivate`, { csrf: b.csrf, confirm: 'yes' })).status).toBe(303);
    expect((await statusOf(m, a.id)).deactivated).toBe(true);
    const bad = await b.post(`/actions/agents/${a.id}/drain`, { csrf: b.csrf, confirm: 'yes', maxGracePeriodSeconds: '-1' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('maxGracePeriodSeconds');
  });

  it('changes nothing without the confirmation', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const b = await browser(m);
    const before = await dump(m.store);
    const res = await b.post(`/actions/agents/${a.id}/gone`, { csrf: b.csrf });
    expect(res.status).toBe(400);
    expect(res.html).toContain('tick the confirmation box');
    expect(await dump(m.store)).toEqual(before);
  });

  it('refuses a form from another site, or without the session value, and changes nothing', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    const b = await browser(m);
    const before = await dump(m.store);
    const fields = { csrf: b.csrf, confirm: 'yes' };
    const attempts = [
      await b.post(`/actions/agents/${a.id}/gone`, fields, { ...FORM, origin: 'https://evil.example' }),
      await b.post(`/actions/agents/${a.id}/gone`, fields, { ...FORM, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }),
      await b.post(`/actions/agents/${a.id}/gone`, fields, { 'content-type': 'application/x-www-form-urlencoded' }),
      await b.post(`/actions/agents/${a.id}/gone`, { confirm: 'yes' }),
      await b.post(`/actions/agents/${a.id}/gone`, { csrf: 'x'.repeat(43), confirm: 'yes' }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(403);
      expect(res.html).toContain('forbidden');
    }
    // Signing in from another site is refused too (login CSRF).
    const login = await m.app.request('/login', { method: 'POST', headers: { ...FORM, origin: 'https://evil.example' }, body: `token=${OPERATOR}` });
    expect(login.status).toBe(403);
    expect(login.headers.get('set-cookie')).toBeNull();
    expect(await dump(m.store)).toEqual(before);
  });

  it('never shows success when the store fails', async () => {
    const store = faultyStore(createMemoryStore());
    const m = testMaster({ store });
    await m.sweep();
    const a = await registerAgent(m);
    const b = await browser(m);
    store.failure = 'writes-unavailable';
    const res = await b.post(`/actions/agents/${a.id}/gone`, { csrf: b.csrf, confirm: 'yes' });
    expect(res.status).toBe(503);
    expect(res.location).toBeNull();
    expect(res.html).toContain('unavailable');
    expect(res.html).not.toContain('Marked gone');
    store.failure = 'none';
    expect((await statusOf(m, a.id)).status).toBe('admitted');
  });

  it('warns of a held recovery, and releases it once confirmed', async () => {
    const { m } = await heldMaster(3);
    const b = await browser(m);
    const overview = await b.get('/');
    expect(overview.html).toContain('id="held"');
    expect(overview.html).toContain('Marking is held');
    expect(overview.html).toContain('3 of 3');
    expect(overview.html).toContain('action="/actions/release"');
    const pending = await b.get('/agents?pending=true');
    expect(pending.html.match(/data-agent=/g)).toHaveLength(3);

    expect((await b.post('/actions/release', { csrf: b.csrf })).status).toBe(400);
    const res = await b.post('/actions/release', { csrf: b.csrf, confirm: 'yes', reason: 'racks decommissioned' });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/?done=release');
    const master = (await m.api.operator('GET', '/master')).body;
    expect(master.recovery).toMatchObject({ releasedBy: 'alice', releaseReason: 'racks decommissioned' });
    expect(master.recovery.state).not.toBe('held');
    const after = await b.get('/?done=release');
    expect(after.html).toContain('Hold released');
    expect(after.html).not.toContain('id="held"');
    const twice = await b.post('/actions/release', { csrf: b.csrf, confirm: 'yes' });
    expect(twice.status).toBe(409);
    expect(twice.html).toContain('marking is not held');
  });
});
