// The dashboard as its app.request() tests drive it: signing in, and a signed-in browser that gets
// pages and posts forms with the page's session value.
import { OPERATOR } from './master.ts';
import type { TestMaster } from './master-http.ts';

export const SITE = 'http://localhost';
export const FORM = { 'content-type': 'application/x-www-form-urlencoded', origin: SITE };

export async function signIn(m: TestMaster, token = OPERATOR) {
  const res = await m.app.request('/login', { method: 'POST', headers: FORM, body: new URLSearchParams({ token }).toString() });
  const cookie = res.headers.get('set-cookie') ?? '';
  return { res, cookie, session: cookie.split(';')[0]! };
}

/** A signed-in browser: pages by GET, forms by POST with the page's session value. */
export async function browser(m: TestMaster) {
  const { session } = await signIn(m);
  const get = async (path: string) => {
    const res = await m.app.request(path, { headers: { cookie: session } });
    return { status: res.status, headers: res.headers, html: await res.text() };
  };
  const csrf = /name="csrf" value="([^"]+)"/.exec((await get('/')).html)![1]!;
  const post = async (path: string, fields: Record<string, string>, headers: Record<string, string> = FORM) => {
    const res = await m.app.request(path, { method: 'POST', headers: { ...headers, cookie: session }, body: new URLSearchParams(fields).toString() });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  };
  return { get, post, csrf, session };
}
