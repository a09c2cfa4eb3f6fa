// The Cloudflare Workers entry (`npm run deploy:cf`): the Worker forwards every request to one
// `Registry` Durable Object, which keeps the registry in its SQLite storage and whose alarm is the
// sweeper (DESIGN.md, "Runtimes"). Configuration comes from vars and secrets, as in loadConfig.
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectId, DurableObjectState } from '@cloudflare/workers-types';
import { createDurableObjectStore, patchWindowFor } from '../adapters/durable-objects/index.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig, requireTokens } from './config.ts';
import { answerFromTicket, edgeTicketState, type TicketState } from './master/edge-tickets.ts';
import { refuseEarly } from './master/gate.ts';
import { createMaster } from './master/index.ts';
import { createMetrics } from './metrics/index.ts';
import { meteredStore } from './metrics/store.ts';
import type { Policy } from './registry/index.ts';
import { createRegistrar, type Registrar } from './registrar.ts';
import { consoleJsonLog, firstSweep, refusal, sweepAndLog } from './runtime.ts';

export interface Env {
  REGISTRY: {
    idFromName(name: string): DurableObjectId;
    get(id: DurableObjectId): { fetch(request: Request): Promise<Response> };
  };
  /** Vars and secrets: REGISTRAR_* settings, REGISTRAR_JOIN_TOKEN, REGISTRAR_OPERATOR_TOKEN and REGISTRAR_FRAMEWORK_TOKEN. */
  [name: string]: unknown;
}

const log = consoleJsonLog;

/** Where the Worker asks its object for what it needs to answer ticketed heartbeats; never reachable from outside. */
const EDGE_STATE_PATH = '/__registrar/ticket-state';

type RegistryStub = ReturnType<Env['REGISTRY']['get']>;

/** Per isolate: the policy, and the registry's epoch and keys as edgeTicketState keeps them (rule 3). */
let edge: { policy: Policy; state: ReturnType<typeof edgeTicketState> } | null | undefined;

function edgeOf(env: Env) {
  if (edge === undefined) {
    try {
      const settings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const { policy } = loadConfig(settings, 'worker');
      edge = { policy, state: edgeTicketState(policy, Date.now) };
    } catch {
      edge = null; // the object reports the configuration problem on every request
    }
  }
  return edge;
}

/** A heartbeat its ticket answers, answered here: one object serves about 1,000 requests/s, the Worker scales out. */
async function answerAtEdge(request: Request, env: Env, registry: RegistryStub): Promise<Response | undefined> {
  const e = edgeOf(env);
  if (!e) return undefined;
  const read = async () => {
    // Any trouble here only means the object answers this heartbeat itself.
    const res = await registry.fetch(new Request(`https://registry${EDGE_STATE_PATH}`)).catch(() => undefined);
    return res?.status === 200 ? ((await res.json()) as TicketState) : undefined;
  };
  return answerFromTicket(request, () => e.state(read), e.policy, Date.now);
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname.startsWith('/__registrar/')) return Response.json({ error: 'not_found', message: 'no such route' }, { status: 404 });
    // One object serves every request: what the master would refuse anyway never reaches it.
    const refused = refuseEarly(request);
    if (refused) return refused;
    const registry = env.REGISTRY.get(env.REGISTRY.idFromName('registry'));
    try {
      return (await answerAtEdge(request, env, registry)) ?? (await registry.fetch(request));
    } catch (err) {
      log('registry object unreachable', { error: (err as Error).message });
      return Response.json({ error: 'unavailable', message: 'the registry is unreachable; retry shortly' }, { status: 503, headers: { 'retry-after': '1' } });
    }
  },
};

interface Serving {
  registrar: Registrar;
  policy: Policy;
  app: ReturnType<typeof createMaster>;
  firstSweep: () => Promise<void>;
}

export class Registry extends DurableObject<Env> {
  readonly #serving: Serving | { problem: string };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#serving = serve(ctx, env);
  }

  async fetch(request: Request): Promise<Response> {
    const serving = this.#serving;
    // Never an open API: without its tokens (or with a bad setting) every request is refused.
    if ('problem' in serving) return refusal(serving.problem);
    const { storage } = this.ctx;
    // Alarms give up after a few failed retries: whoever finds none set arms the next sweep.
    if ((await storage.getAlarm()) === null) await storage.setAlarm(Date.now() + serving.policy.sweepInterval);
    await serving.firstSweep();
    if (new URL(request.url).pathname === EDGE_STATE_PATH) {
      const { registrar } = serving;
      try {
        const { epoch, leaseExpiresAt } = (await registrar.core.currentMaster({ fresh: true })).value;
        const state: TicketState = { epoch, leaseExpiresAt, keys: await registrar.tickets.verifyingKeys() };
        return Response.json(state);
      } catch (err) {
        return Response.json({ error: 'unavailable', message: (err as Error).message }, { status: 503 });
      }
    }
    return serving.app.fetch(request);
  }

  /** The sweeper: one sweep, then the next alarm an interval after this one started (start to start). */
  async alarm(): Promise<void> {
    const serving = this.#serving;
    if ('problem' in serving) return;
    const started = Date.now();
    try {
      await sweepAndLog(serving.registrar, log, 'alarm').catch(() => {}); // logged; the next alarm retries
    } finally {
      await this.ctx.storage.setAlarm(Math.max(Date.now(), started + serving.policy.sweepInterval));
    }
  }
}

function serve(ctx: DurableObjectState, env: Env): Serving | { problem: string } {
  try {
    const settings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const config = loadConfig(settings, 'worker');
    if (config.store.kind !== 'durable-objects') throw new ConfigError('REGISTRAR_STORE: the Worker keeps the registry in its Durable Object; leave it unset');
    const tokens = requireTokens(config);
    const metrics = createMetrics();
    const store = meteredStore(createDurableObjectStore(ctx.storage, { patchWindowMs: patchWindowFor(config.policy.heartbeatInterval) }), 'durable-objects', metrics);
    // No record cache: a due heartbeat then patches lastSeenAt on its ticket's version, and the
    // object's store writes patches to a shared log row, not a whole record row each (rows written are billed).
    const registrar = createRegistrar({ store, clock: systemClock, policy: config.policy, log, recordCacheEntries: 0, ...(config.ticketKeys ? { ticketKeys: config.ticketKeys } : {}) });
    return { registrar, policy: config.policy, app: createMaster({ registrar, tokens, log, registrationRateLimit: config.registrationRateLimit, metrics }), firstSweep: firstSweep(registrar, log) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log('registrar is not configured: answering 503 to every request', {
      problem: err.message,
      hint: 'tokens are Worker secrets: wrangler secret put REGISTRAR_JOIN_TOKEN; wrangler secret put REGISTRAR_OPERATOR_TOKEN; wrangler secret put REGISTRAR_FRAMEWORK_TOKEN',
    });
    return { problem: err.message };
  }
}
