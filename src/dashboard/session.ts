// The dashboard's session: the operator token is entered once, checked, and the browser keeps a
// session cookie that names the token's label and proves, by an HMAC keyed with the token itself,
// that its holder presented it. Nothing is stored on the server, so every instance (Node, Lambda,
// Workers) accepts it, and rotating the token ends its sessions. The cookie never holds the token.
import { createHmac } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Token } from '../config.ts';
import type { TokenSource } from '../master/auth.ts';
import { base64url, constantTimeEqual } from '../secrets.ts';

export const SESSION_COOKIE = 'registrar_session';
/** A session ends with the browser's, or after this long, whichever comes first. */
export const SESSION_MAX_AGE = 12 * 3600_000;

export interface Session {
  /** The operator token's label: the `by` of the events this session's actions record. */
  operator: string;
  /** The value the session's forms carry (a second defence beside SameSite=Strict and the origin check). */
  csrf: string;
}

const mac = (token: string, purpose: string, text: string) =>
  base64url(createHmac('sha256', token).update(`registrar-dashboard-${purpose}\0${text}`).digest());

const encodeLabel = (label: string) => base64url(new TextEncoder().encode(label));
const decodeLabel = (text: string) => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0)));
  } catch {
    return undefined;
  }
};

/** Over HTTPS (directly, or behind a proxy that says so) the cookie is Secure. */
const overHttps = (c: Context) => new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';

/** Starts a session for the holder of `token` (already checked): a cookie with no Max-Age, so it ends with the browser. */
export function startSession(c: Context, token: Token, now: number): void {
  const body = `${encodeLabel(token.label)}.${now}`;
  setCookie(c, SESSION_COOKIE, `${body}.${mac(token.token, 'session', body)}`, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: overHttps(c),
    path: '/',
  });
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: overHttps(c) });
}

/** The session the request's cookie proves, or undefined (none, forged, expired, or its token rotated away). */
export async function readSession(c: Context, source: TokenSource, now: number): Promise<Session | undefined> {
  const value = getCookie(c, SESSION_COOKIE);
  const m = value === undefined ? null : /^([A-Za-z0-9_-]+)\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return undefined;
  const [, encoded, issued, proof] = m as unknown as [string, string, string, string];
  const label = decodeLabel(encoded);
  const issuedAt = Number(issued);
  if (label === undefined || issuedAt > now || now - issuedAt > SESSION_MAX_AGE) return undefined;
  const find = () => source.current().operator.find((t) => t.label === label);
  let token = find();
  if (token === undefined) {
    await source.refresh(); // rotated in since this instance read the tokens
    token = find();
  }
  if (token === undefined || !constantTimeEqual(mac(token.token, 'session', `${encoded}.${issued}`), proof)) return undefined;
  return { operator: label, csrf: mac(token.token, 'csrf', value!) };
}
