// What the bench's parts share: the tokens they register with, an in-process master on a fake clock,
// a JSON POST, and the plain-text table they print.
import v8 from 'node:v8';
import vm from 'node:vm';
import { FakeClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createMaster } from '../src/master/index.ts';
import { createRegistrar } from '../src/registrar.ts';
import type { Store } from '../src/store.ts';
import { meter } from '../src/cli/table.ts';

/**
 * A full collection on demand, for live heaps per agent (as `node --expose-gc` would give it). Twice,
 * a task apart: what finalization registries hold (each in-process `Request` registers its abort
 * signal in one) is let go only in a task after the first collection.
 */
export async function gc(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 2; i++) {
    collect();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  collect();
}

export const JOIN = 'bench-join-token-0123456789';
export const OPERATOR = 'bench-operator-token-0123456789';

/** What registration answers an agent, as the bench keeps it. */
export interface BenchAgent {
  agentId: string;
  secret: string;
  epoch: number;
  /** The ticket of the last heartbeat, sent back with the next one as the agent client does (rule 13). */
  ticket?: string;
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

const rawKey = (i: number) => `bench-raw/${String(i).padStart(12, '0')}`;

/** `n` calls of `fn` (given 0 … n − 1), at most `inFlight` at a time; the calls per second. */
export async function perSecondInFlight(n: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) await fn(next++);
  }));
  return (n / (performance.now() - t)) * 1000;
}

/**
 * What registration is measured against: the store's own conditional put (expect absent) of `record`,
 * `count` times under another prefix, one at a time unless `inFlight` says more, per second.
 * `remove` deletes them afterwards (not timed), for a run that goes on with the registry.
 */
export async function rawPutsPerSecond(store: Store, record: unknown, count: number, opts: { each?: () => void; remove?: boolean; inFlight?: number } = {}): Promise<number> {
  const perSecond = await perSecondInFlight(count, opts.inFlight ?? 1, async (i) => {
    await store.commit([{ key: rawKey(i), expect: 'absent', put: record }]);
    opts.each?.();
  });
  if (opts.remove) for (let i = 0; i < count; i++) await store.commit([{ key: rawKey(i), expect: 'any', delete: true }]);
  return perSecond;
}

/** The first column (and any in `left`) left-aligned, the others right-aligned: one line a row. */
export function formatTable(head: string[], rows: (string | number)[][], left: number[] = [0]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** Three significant digits for small numbers, thousands separators for large ones. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs === 0) return '0';
  return Number(n.toPrecision(3)).toString();
}

/** "yes" or "NO", as the goal tables print a goal met or not. */
export const met = (ok: boolean) => (ok ? 'yes' : 'NO');

/**
 * A progress bar on stderr for one stage of the bench: `[#####.....]  42% label  12 s`, redrawn in
 * place at most every 100 ms on a terminal (every 5 s, a line each, when stderr is a file or a pipe);
 * `done()` draws it full and ends its line.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const width = 30;
  const started = performance.now();
  const every = stream.isTTY ? 100 : 5_000;
  let last = -Infinity;
  const draw = (fraction: number, end: string) => {
    const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
    const seconds = Math.round((performance.now() - started) / 1000);
    stream.write(`${stream.isTTY ? '\r' : ''}${meter(f, width)} ${String(Math.round(f * 100)).padStart(3)}%  ${label}  ${seconds} s${end}`);
  };
  return {
    update(fraction: number) {
      const now = performance.now();
      if (now - last < every) return;
      last = now;
      draw(fraction, stream.isTTY ? '' : '\n');
    },
    done() {
      draw(1, '\n');
    },
  };
}
export type ProgressBar = ReturnType<typeof progressBar>;
