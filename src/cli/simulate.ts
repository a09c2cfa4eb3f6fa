// `registrar simulate --agents N`: N agents in one process against a master, each following the
// agent protocol (DESIGN.md, "Agent behaviour") in a lean loop: register, heartbeat with the
// ticket of the last answer, re-register after a random delay on 409, stop on 410, back off on
// 503/429/network trouble. They leave (DELETE) at the end unless --keep. A progress bar on stderr,
// a summary on stdout.
import { randomBytes } from 'node:crypto';
import { heartbeatDelay } from '../agent/client.ts';
import { ConfigError, parseDuration } from '../config.ts';
import { CommandError, masterUrl, parseFlags, UsageError, type Env, type Io, type Output } from './io.ts';
import { meter, table } from './table.ts';

export interface SimulationSummary {
  agents: number;
  registered: number;
  reregistered: number;
  heartbeatsOk: number;
  heartbeatsFailed: number;
  conflicts409: number;
  gone410: number;
  errors: number;
  latencyMs: { p50: number; p99: number; max: number };
  seconds: number;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  retryAfterMs?: number;
  ms: number;
}

/** The value at quantile q of sorted numbers (nearest rank). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `[####......]  40%  24/60 s  agents 98/100  heartbeats 1,204 ok 3 failed`, redrawn in place on a terminal, a line every 5 s elsewhere. */
function progress(out: Output, total: number, status: () => string) {
  const width = 24;
  const every = out.isTTY ? 200 : 5_000;
  const draw = (fraction: number, end: string) => {
    out.write(`${out.isTTY ? '\r\x1b[K' : ''}${meter(fraction, width)} ${String(Math.round(fraction * 100)).padStart(3)}%  ${status()}${end}`);
  };
  const started = Date.now();
  const timer = setInterval(() => draw((Date.now() - started) / total, out.isTTY ? '' : '\n'), every);
  return () => {
    clearInterval(timer);
    draw(1, '\n');
  };
}

function durationFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(name, text);
  } catch (err) {
    throw err instanceof ConfigError ? new UsageError(err.message) : err;
  }
}

export async function simulateCommand(argv: string[], env: Env, io: Io): Promise<number> {
  const { values } = parseFlags(argv, {
    url: { type: 'string' },
    'join-token': { type: 'string' },
    agents: { type: 'string' },
    duration: { type: 'string' },
    'heartbeat-interval': { type: 'string' },
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const agents = Number(values.agents);
  if (!Number.isInteger(agents) || agents < 1) throw new UsageError('--agents N is required: how many agents to simulate (1 or more)');
  const url = masterUrl(values.url, env);
  const joinToken = values['join-token'] ?? env.REGISTRAR_JOIN_TOKEN;
  if (!joinToken) throw new UsageError('a join token is required: --join-token T or REGISTRAR_JOIN_TOKEN');
  const summary = await simulate({
    url,
    joinToken,
    agents,
    durationMs: durationFlag('--duration', values.duration) ?? 60_000,
    heartbeatMs: durationFlag('--heartbeat-interval', values['heartbeat-interval']),
    keep: values.keep === true,
    stderr: io.stderr,
  });
  io.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : summaryTable(summary));
  return summary.registered === 0 ? 1 : 0;
}

function summaryTable(s: SimulationSummary): string {
  return table(['', ''], [
    ['agents registered', `${s.registered} of ${s.agents}`],
    ['re-registrations', s.reregistered],
    ['heartbeats ok', s.heartbeatsOk],
    ['heartbeats failed', s.heartbeatsFailed],
    ['409 reregister', s.conflicts409],
    ['410 gone', s.gone410],
    ['errors (network, 5xx, other)', s.errors],
    ['heartbeat latency p50', `${s.latencyMs.p50.toFixed(1)} ms`],
    ['heartbeat latency p99', `${s.latencyMs.p99.toFixed(1)} ms`],
    ['heartbeats/s', (s.heartbeatsOk / Math.max(s.seconds, 0.001)).toFixed(1)],
  ]).split('\n').slice(1).join('\n'); // no header row
}

export interface SimulationOptions {
  url: string;
  joinToken: string;
  agents: number;
  durationMs: number;
  /** Overrides the interval the master tells its agents. */
  heartbeatMs?: number | undefined;
  keep: boolean;
  stderr: Output;
}

export async function simulate(opts: SimulationOptions): Promise<SimulationSummary> {
  const started = Date.now();
  const deadline = started + opts.durationMs;
  const run = randomBytes(3).toString('hex');
  const latencies: number[] = [];
  const s = { registered: 0, reregistered: 0, heartbeatsOk: 0, heartbeatsFailed: 0, conflicts409: 0, gone410: 0, errors: 0 };
  const stop = new AbortController();
  let refused: CommandError | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, Math.min(ms, deadline - Date.now())));
      stop.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  const over = () => stop.signal.aborted || Date.now() >= deadline;

  async function send(method: string, path: string, token: string, body?: unknown): Promise<Answer | undefined> {
    const t0 = performance.now();
    try {
      const res = await fetch(`${opts.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      const retryAfter = Number(res.headers.get('retry-after'));
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        // not JSON: only the status counts
      }
      if (res.status >= 500 || res.status === 429) s.errors++;
      return { status: res.status, body: parsed, ms: performance.now() - t0, ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}) };
    } catch {
      s.errors++;
      return undefined;
    }
  }

  /** Refused credentials end the whole simulation with the API's message. */
  const refuse = (what: string, a: Answer) => {
    refused ??= new CommandError(`${what}: ${a.status} — ${[a.body.error, a.body.message].filter(Boolean).join(': ')}`);
    stop.abort();
  };

  async function agent(i: number): Promise<void> {
    const info = { hostname: `sim-${run}-${i}`, resources: { cpus: 4, mem: 8192 }, attributes: { simulated: 'true' } };
    let intervalMs = opts.heartbeatMs ?? 15_000;
    let id = '';
    let secret = '';
    let epoch = 0;
    let ticket: string | undefined;
    /** What a 2xx carries: the epoch, the interval, and a ticket for the next heartbeat (registration's too). */
    const learn = (a: Answer) => {
      ticket = typeof a.body.ticket === 'string' ? a.body.ticket : undefined;
      if (typeof a.body.epoch === 'number') epoch = a.body.epoch;
      if (opts.heartbeatMs === undefined && typeof a.body.heartbeatIntervalSeconds === 'number') intervalMs = a.body.heartbeatIntervalSeconds * 1000;
    };
    const backoff = (attempt: number, a?: Answer) => sleep(Math.max(Math.random() * Math.min(intervalMs, 250 * 2 ** Math.min(attempt, 16)), a?.retryAfterMs ?? 0));

    await sleep((i / opts.agents) * Math.min(5_000, opts.durationMs / 5)); // registrations spread, not all at once

    for (let attempt = 0; !over(); attempt++) {
      const a = await send('POST', '/api/v1/agents', opts.joinToken, info);
      if (a?.status === 201) {
        id = a.body.agentId as string;
        secret = a.body.secret as string;
        learn(a);
        s.registered++;
        break;
      }
      if (a?.status === 401 || a?.status === 403 || a?.status === 400) return refuse('registration refused', a);
      await backoff(attempt, a);
    }
    if (!id) return;

    await sleep(Math.random() * intervalMs); // spread the fleet's heartbeats over one interval
    let attempt = 0;
    let beatStart = Date.now();
    while (!over()) {
      if (attempt === 0) beatStart = Date.now();
      const a = await send('POST', `/api/v1/agents/${id}/heartbeat`, secret, { epoch, ...(ticket ? { ticket } : {}) });
      if (a?.status === 200) {
        s.heartbeatsOk++;
        latencies.push(a.ms);
        learn(a);
        attempt = 0;
        await sleep(Math.max(0, beatStart + heartbeatDelay(intervalMs) - Date.now())); // start to start, as the agent client
        continue;
      }
      s.heartbeatsFailed++;
      ticket = undefined;
      if (a?.status === 410) {
        s.gone410++;
        return; // marked gone: this agent shuts down
      }
      if (a?.status === 409 || a?.status === 404) {
        if (a.status === 409) s.conflicts409++;
        await sleep(Math.random() * intervalMs); // as agents do after a failover, so they do not all arrive at once
        const r = await send('POST', `/api/v1/agents/${id}/reregister`, secret, info);
        if (r?.status === 200) {
          s.reregistered++;
          learn(r);
          await sleep(heartbeatDelay(intervalMs)); // re-registering was a contact: the next beat an interval after it
        } else if (r?.status === 410) {
          s.gone410++;
          return;
        } else if (r?.status === 401 || r?.status === 403) return refuse('re-registration refused', r);
        continue;
      }
      if (a && a.status !== 503 && a.status !== 429) s.errors++; // an answer the protocol does not expect
      await backoff(attempt++, a);
    }
    if (!opts.keep && !refused) await send('DELETE', `/api/v1/agents/${id}`, secret);
  }

  const done = progress(opts.stderr, opts.durationMs, () =>
    `${Math.round((Date.now() - started) / 1000)}/${Math.round(opts.durationMs / 1000)} s  agents ${s.registered}/${opts.agents}  heartbeats ${s.heartbeatsOk} ok ${s.heartbeatsFailed} failed  errors ${s.errors}`);
  try {
    await Promise.all(Array.from({ length: opts.agents }, (_, i) => agent(i)));
  } finally {
    done();
  }
  if (refused) throw refused;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    agents: opts.agents,
    ...s,
    latencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? 0 },
    seconds: (Date.now() - started) / 1000,
  };
}
