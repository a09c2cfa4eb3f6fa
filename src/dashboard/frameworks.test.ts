// The dashboard's frameworks through app.request(): the overview's counts, the table and its search,
// a framework's page, and the teardown with its defences.
import { describe, expect, it } from 'vitest';
import { browser, FORM } from '../../test/support/dashboard.ts';
import { FRAMEWORK } from '../../test/support/master.ts';
import { dump, serve, servingMaster, type TestMaster } from '../../test/support/master-http.ts';

/** Registers a framework over the API with the framework token; resolves with its id. */
async function registerFramework(m: TestMaster, body: Record<string, unknown>): Promise<string> {
  const res = await m.call('POST', '/api/v1/frameworks', { token: FRAMEWORK, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.frameworkId as string;
}

describe('the dashboard: frameworks', () => {
  it('counts the frameworks on the overview from one page, and links to them', async () => {
    const m = await servingMaster();
    const b = await browser(m);
    expect((await b.get('/')).html).toContain('href="/frameworks"');
    await registerFramework(m, { name: 'marathon' });
    const torn = await registerFramework(m, { name: 'spark' });
    await m.api.operator('POST', `/frameworks/${torn}/teardown`, {});
    const { html } = await b.get('/');
    expect(html).toMatch(/id="framework-counts".*<b>1<\/b><span class="badge active">active<\/span>.*<b>0<\/b><span class="badge disconnected">disconnected.*<b>1<\/b><span class="badge completed">completed/s);
    expect(html).toContain('href="/frameworks?status=completed"');
    expect(html).not.toContain('first page of frameworks only');
  });

  it('lists the frameworks with their badges, searches by name, id prefix and status, and escapes what schedulers report', async () => {
    const m = await servingMaster();
    const marathon = await registerFramework(m, { name: 'marathon', user: 'root', failoverTimeoutSeconds: 604_800 });
    const evil = await registerFramework(m, { name: '<script>alert(1)</script>', webuiUrl: 'javascript:alert(1)' });
    const b = await browser(m);
    const all = await b.get('/frameworks');
    expect(all.status).toBe(200);
    expect(all.html).toContain(`href="/frameworks/${marathon}">marathon</a>`);
    expect(all.html).toMatch(/<td>root<\/td><td><span class="badge active">active<\/span><\/td>.*<td>7d<\/td>/s);
    expect(all.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(all.html).not.toContain('<script>');
    const detail = (await b.get(`/frameworks/${evil}`)).html;
    expect(detail).not.toContain('<script>');
    expect(detail).not.toContain('href="javascript:');
    expect(detail).toContain('<code>javascript:alert(1)</code>');

    const byName = await b.get('/frameworks?name=MARA');
    expect(byName.html).toContain(marathon);
    expect(byName.html).not.toContain(evil);
    const byPrefix = await b.get(`/frameworks?idPrefix=${evil.slice(0, 8).toUpperCase()}`);
    expect(byPrefix.html).toContain(evil);
    expect(byPrefix.html).not.toContain(marathon);
    expect((await b.get('/frameworks?status=completed')).html).toContain('No matching frameworks.');
    expect((await b.get('/frameworks?idPrefix=zz')).status).toBe(400);
  });

  it('pages through the frameworks with the cursor', async () => {
    const m = await servingMaster();
    for (let i = 0; i < 55; i++) await registerFramework(m, { name: `job-${String(i).padStart(2, '0')}` });
    const b = await browser(m);
    const first = await b.get('/frameworks');
    expect(first.html.match(/data-framework=/g)).toHaveLength(50);
    const next = /href="(\/frameworks\?cursor=[^"]+)" rel="next"/.exec(first.html)![1]!.replace(/&amp;/g, '&');
    const second = await b.get(next);
    expect(second.html.match(/data-framework=/g)).toHaveLength(5);
    expect(second.html).not.toContain('rel="next"');
    const ids = (html: string) => [...html.matchAll(/data-framework="([^"]+)"/g)].map((x) => x[1]);
    expect(new Set([...ids(first.html), ...ids(second.html)]).size).toBe(55);
  });

  it('shows a framework in detail, with when a disconnected one is completed, and a readable page for an unknown one', async () => {
    const m = await servingMaster();
    const id = await registerFramework(m, { name: 'chronos', user: 'batch', roles: ['etl', 'web'], principal: 'chronos-principal', hostname: 'sched-1', webuiUrl: 'https://chronos.example/', capabilities: ['MULTI_ROLE'], failoverTimeoutSeconds: 3600 });
    const b = await browser(m);
    const { html } = await b.get(`/frameworks/${id}`);
    for (const text of ['chronos', id, 'batch', 'etl, web', 'chronos-principal', 'sched-1', 'href="https://chronos.example/"', 'MULTI_ROLE', '1h', 'registered', 'schedulers', 'id="action-teardown"']) expect(html).toContain(text);
    expect(html).not.toContain('Completed unless it re-registers');

    // Silent past rule 2's deadline: disconnected, with its failover timeout still to run.
    await serve(m, m.policy.agentTimeout + 2 * m.policy.livenessGranularity + 2 * m.policy.sweepInterval);
    const silent = await b.get(`/frameworks/${id}`);
    expect(silent.html).toContain('<span class="badge disconnected">disconnected</span>');
    expect(silent.html).toMatch(/Completed unless it re-registers<\/dt><dd><time [^>]+>[^<]+\(in \d+m/);
    expect((await b.get('/frameworks?status=disconnected')).html).toContain(`data-framework="${id}"`);

    const unknown = await b.get(`/frameworks/${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain('not_found');
    expect((await b.get('/frameworks/not-a-uuid')).status).toBe(404);
  });

  it('tears a framework down through its confirmed form, and nothing more can be done', async () => {
    const m = await servingMaster();
    const id = await registerFramework(m, { name: 'marathon' });
    const b = await browser(m);
    const res = await b.post(`/actions/frameworks/${id}/teardown`, { csrf: b.csrf, confirm: 'yes', reason: 'retired' });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/frameworks/${id}?done=teardown`);
    const record = (await m.api.operator('GET', `/frameworks/${id}`)).body;
    expect(record.status).toBe('completed');
    expect(record.events.at(-1)).toMatchObject({ type: 'teardown', by: 'alice', reason: 'retired' });
    const page = await b.get(res.location!);
    expect(page.html).toContain('Torn down.');
    expect(page.html).toContain('<span class="badge completed">completed</span>');
    expect(page.html).toContain('retired');
    expect(page.html).not.toContain('id="action-teardown"');
  });

  it('refuses a teardown without the confirmation, the session value or from another site, and changes nothing', async () => {
    const m = await servingMaster();
    const id = await registerFramework(m, { name: 'marathon' });
    const b = await browser(m);
    const before = await dump(m.store);
    const path = `/actions/frameworks/${id}/teardown`;
    const unconfirmed = await b.post(path, { csrf: b.csrf });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.html).toContain('tick the confirmation box');
    for (const res of [
      await b.post(path, { confirm: 'yes' }),
      await b.post(path, { csrf: 'x'.repeat(43), confirm: 'yes' }),
      await b.post(path, { csrf: b.csrf, confirm: 'yes' }, { ...FORM, origin: 'https://evil.example' }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.html).toContain('forbidden');
    }
    const signedOut = await m.app.request(path, { method: 'POST', headers: FORM, body: `confirm=yes` });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/login');
    expect(await dump(m.store)).toEqual(before);
  });
});
