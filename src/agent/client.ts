// The agent client: registers, keeps its id and secret in a state file (saved before registering,
// so a retry is idempotent), heartbeats with jitter, and follows DESIGN.md's agent behaviour:
// backoff with full jitter on 503/429/network errors (honouring Retry-After), a random delay before
// re-registering on 409 reregister, a wait of Retry-After on 409 machine-in-use, stop on 401/403, shut
// down on 410.
import { randomSecret, randomId } from '../secrets.ts';
import type { AgentState, StateFile } from './state.ts';
import { fetchTrusting, insecureMasterProblem } from './transport.ts';

/**
 * The time from one heartbeat's start to the next: 0.98–1.0 × the interval. Registrations and
 * re-registrations start after random delays, so a fleet's beats are already spread; a little jitter
 * keeps them from falling into step again. Never more than the interval keeps rule 5's promise, and
 * the narrow band keeps the request count (what serverless runtimes bill) within 2% of one per interval.
 */
export const heartbeatDelay = (heartbeatMs: number, random: () => number = Math.random) => heartbeatMs * (0.98 + 0.02 * random());

export interface AgentOptions {
  master: string;
  joinToken: string;
  info: {
    hostname: string;
    port?: number;
    resources?: Record<string, number | string>;
    attributes?: Record<string, string>;
    version?: string;
    machineId?: string;
  };
  state: StateFile;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Injected for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  fetch?: typeof fetch;
  /** PEM certificates of a private CA the master's certificate is signed by. */
  ca?: string;
  /** Allow plain http:// to a master that is not on this machine. */
  insecureHttp?: boolean;
  /** Called with each heartbeat's instructions; resolve true once the agent's work has stopped. */
  onInstructions?: (i: Instructions) => Promise<boolean> | boolean;
}

export interface Instructions {
  drain?: { state: 'draining' | 'drained'; remainingSeconds?: number };
  deactivated: boolean;
}

/** Why the agent stopped: 'gone' (410, shut down), 'refused' (401/403), 'stopped' (asked to). */
export type AgentExit = { reason: 'gone' | 'refused' | 'stopped'; message: string };

class Stop extends Error {
  readonly exit: AgentExit;
  constructor(exit: AgentExit) {
    super(exit.message);
    this.exit = exit;
  }
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  retryAfter?: number;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

export function createAgent(opts: AgentOptions) {
  const log = opts.log ?? (() => {});
  const sleepFor = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const problem = insecureMasterProblem(opts.master, opts.insecureHttp === true);
  if (problem) throw new Error(problem);
  const doFetch = opts.fetch ?? (opts.ca ? fetchTrusting(opts.ca) : fetch);
  const controller = new AbortController();
  const base = opts.master.replace(/\/+$/, '');
  let heartbeatMs = 15_000;
  let timeoutMs = 75_000;
  let lastSuccess = now();
  let warnedSilent = false;
  let drainedReported = false;
  // The master's signed ticket lets it answer the next heartbeat without reading its store (rule 13).
  let ticket: string | undefined;

  const sleep = async (ms: number) => {
    await sleepFor(ms, controller.signal);
    if (controller.signal.aborted) throw new Stop({ reason: 'stopped', message: 'asked to stop' });
  };

  async function request(method: string, path: string, token: string, body?: unknown): Promise<Reply | undefined> {
    try {
      const res = await doFetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(Math.max(heartbeatMs, 5_000))]),
      });
      const text = await res.text();
      const retryAfter = Number(res.headers.get('retry-after'));
      return {
        status: res.status,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter: retryAfter * 1000 } : {}),
      };
    } catch (err) {
      if (controller.signal.aborted) throw new Stop({ reason: 'stopped', message: 'asked to stop' });
      log('master unreachable', { error: (err as Error).message });
      return undefined;
    }
  }

  /** Sends until an answer that is not 503/429/network trouble, backing off with full jitter. */
  async function send(method: string, path: string, token: string, body?: unknown): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const reply = await request(method, path, token, body);
      if (reply && reply.status !== 503 && reply.status !== 429 && reply.status < 500) {
        if (reply.status < 300) {
          lastSuccess = now();
          warnedSilent = false;
        }
        if (reply.status === 401 || reply.status === 403) {
          throw new Stop({ reason: 'refused', message: `the master refused our credentials (${reply.status}): ${reply.body.message ?? ''}` });
        }
        if (reply.status === 410) throw new Stop({ reason: 'gone', message: 'the master marked this agent gone; shutting down' });
        return reply;
      }
      if (!warnedSilent && now() - lastSuccess > timeoutMs) {
        warnedSilent = true;
        log('no answer for longer than the agent timeout: the master presumes this agent unreachable');
      }
      const backoff = random() * Math.min(heartbeatMs, 250 * 2 ** Math.min(attempt, 16));
      await sleep(Math.max(backoff, reply?.retryAfter ?? 0));
    }
  }

  /** What every 2xx of the master carries: its timings, and a ticket for the next heartbeat. */
  const learn = (body: Record<string, unknown>) => {
    ticket = typeof body.ticket === 'string' ? body.ticket : undefined;
    if (typeof body.heartbeatIntervalSeconds === 'number') heartbeatMs = body.heartbeatIntervalSeconds * 1000;
    if (typeof body.agentTimeoutSeconds === 'number') timeoutMs = body.agentTimeoutSeconds * 1000;
  };

  const info = () => ({ ...opts.info });

  /** Registers with a saved id and secret (new ones saved first when there are none). */
  async function register(): Promise<AgentState> {
    let state = await opts.state.load();
    if (!state || state.master !== base) {
      state = { master: base, agentId: randomId(), secret: randomSecret(), registered: false };
      await opts.state.save(state);
    }
    if (state.registered) return reregister(state);
    let reply = await send('POST', '/api/v1/agents', opts.joinToken, { ...info(), agentId: state.agentId, secret: state.secret });
    while (reply.status === 409 && reply.body.error === 'machine-in-use') {
      // This machine's older agent still looks live: wait until the master would find it overdue.
      const wait = reply.retryAfter ?? heartbeatMs;
      log('this machine is registered to an agent that still looks live; retrying', { retryInSeconds: Math.ceil(wait / 1000) });
      await sleep(wait + random() * heartbeatMs);
      reply = await send('POST', '/api/v1/agents', opts.joinToken, { ...info(), agentId: state.agentId, secret: state.secret });
    }
    if (reply.status !== 201) throw new Stop({ reason: 'refused', message: `registration refused (${reply.status}): ${reply.body.message ?? ''}` });
    learn(reply.body);
    state = { ...state, registered: true, epoch: reply.body.epoch as number };
    await opts.state.save(state);
    log('registered', { agentId: state.agentId, epoch: state.epoch });
    return state;
  }

  async function reregister(state: AgentState): Promise<AgentState> {
    const reply = await send('POST', `/api/v1/agents/${state.agentId}/reregister`, state.secret, info());
    if (reply.status === 404) {
      // Our record was pruned: this machine can only join again as a new agent.
      log('the master no longer knows this agent; registering afresh', { agentId: state.agentId });
      await opts.state.save(undefined);
      return register();
    }
    if (reply.status !== 200) throw new Stop({ reason: 'refused', message: `re-registration refused (${reply.status}): ${reply.body.message ?? ''}` });
    learn(reply.body);
    const next = { ...state, epoch: reply.body.epoch as number };
    await opts.state.save(next);
    log('re-registered', { agentId: state.agentId, epoch: next.epoch });
    return next;
  }

  async function heartbeatLoop(initial: AgentState): Promise<never> {
    let state = initial;
    // Beats are timed start to start: the master's latency never stretches the gap past the interval.
    let lastStart = now();
    for (;;) {
      await sleep(Math.max(0, lastStart + heartbeatDelay(heartbeatMs, random) - now()));
      lastStart = now();
      const reply = await send('POST', `/api/v1/agents/${state.agentId}/heartbeat`, state.secret, {
        epoch: state.epoch,
        ...(drainedReported ? { drained: true } : {}),
        ...(ticket ? { ticket } : {}),
      });
      if (reply.status !== 200) ticket = undefined;
      if (reply.status === 409) {
        // Spread re-registrations after a failover over one heartbeat interval.
        log('the master asks us to re-register', { epoch: reply.body.epoch });
        await sleep(random() * heartbeatMs);
        state = await reregister(state);
        lastStart = now(); // re-registering was a contact: the next beat is an interval after it
        continue;
      }
      if (reply.status === 404) {
        state = await reregister(state);
        lastStart = now();
        continue;
      }
      if (reply.status !== 200) {
        log('unexpected heartbeat answer', { status: reply.status, body: reply.body });
        continue;
      }
      learn(reply.body);
      const instructions = { deactivated: reply.body.deactivated === true, ...(reply.body.drain ? { drain: reply.body.drain as Instructions['drain'] } : {}) };
      if (instructions.drain?.state === 'draining' && !drainedReported) {
        drainedReported = (await opts.onInstructions?.(instructions)) ?? true;
      } else {
        if (!instructions.drain) drainedReported = false;
        await opts.onInstructions?.(instructions);
      }
    }
  }

  return {
    /** Runs until the master marks the agent gone, refuses its credentials, or stop() is called. */
    async run(): Promise<AgentExit> {
      try {
        return await heartbeatLoop(await register());
      } catch (err) {
        if (!(err instanceof Stop)) throw err;
        log(err.exit.message, { reason: err.exit.reason });
        return err.exit;
      }
    },
    stop() {
      controller.abort();
    },
    /** The agent leaves on purpose: its record is removed. */
    async leave(): Promise<void> {
      const state = await opts.state.load();
      if (!state?.registered) return;
      const reply = await request('DELETE', `/api/v1/agents/${state.agentId}`, state.secret);
      if (reply?.status === 204 || reply?.status === 404) await opts.state.save(undefined);
    },
  };
}
