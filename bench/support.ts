// What the bench's parts share: the tokens they register with, an in-process master on a fake clock,
// a JSON POST, and the plain-text table they print.
import { FakeClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createMaster } from '../src/master/index.ts';
import { createRegistrar } from '../src/registrar.ts';
import type { Store } from '../src/store.ts';

export const JOIN = 'bench-join-token-0123456789';
export const OPERATOR = 'bench-operator-token-0123456789';

/** What registration answers an agent, as the bench keeps it. */
export interface BenchAgent {
  agentId: string;
  secret: string;
  epoch: number;
}

/** A request with a bearer token and, when given, a JSON body, through any fetch (a Hono app's `request` too). */
export const call = (fetchLike: (url: string, init: RequestInit) => Response | Promise<Response>, url: string, token: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') =>
  fetchLike(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** A master on a fake clock and the given store, at default settings, answering through `app.request`. */
export function benchMaster(store: Store, clock = new FakeClock()) {
  const policy = loadConfig({}).policy;
  const registrar = createRegistrar({ store, clock, policy, log: () => {} });
  const app = createMaster({ registrar, tokens: { join: [{ label: 'join', token: JOIN }], operator: [{ label: 'op', token: OPERATOR }] }, log: () => {} });
  const request = (path: string, init: RequestInit) => app.request(path, init);
  return { clock, policy, registrar, app, request };
}

/** Left-aligned first column, the others right-aligned: one line a row. */
export function formatTable(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/** Three significant digits for small numbers, thousands separators for large ones. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs === 0) return '0';
  return Number(n.toPrecision(3)).toString();
}
