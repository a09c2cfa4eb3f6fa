// The Cloudflare Workers entry (`npm run deploy:cf`): the Worker forwards every request to one
// `Registry` Durable Object, which keeps the registry in its SQLite storage and whose alarm is the
// sweeper (DESIGN.md, "Runtimes"). Configuration comes from vars and secrets, as in loadConfig.
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectId, DurableObjectState } from '@cloudflare/workers-types';
import { createDurableObjectStore } from '../adapters/durable-objects/index.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig, requireTokens } from './config.ts';
import { refuseEarly } from './master/gate.ts';
import { createMaster } from './master/index.ts';
import type { Policy } from './registry/index.ts';
import { createRegistrar, type Registrar } from './registrar.ts';
import { consoleJsonLog, firstSweep, refusal, sweepAndLog } from './runtime.ts';

export interface Env {
  REGISTRY: {
    idFromName(name: string): DurableObjectId;
    get(id: DurableObjectId): { fetch(request: Request): Promise<Response> };
  };
  /** Vars and secrets: REGISTRAR_* settings, REGISTRAR_JOIN_TOKEN and REGISTRAR_OPERATOR_TOKEN. */
  [name: string]: unknown;
}

const log = consoleJsonLog;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // One object serves every request: what the master would refuse anyway never reaches it.
    const refused = refuseEarly(request);
    if (refused) return refused;
    const registry = env.REGISTRY.get(env.REGISTRY.idFromName('registry'));
    try {
      return await registry.fetch(request);
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
    const store = createDurableObjectStore(ctx.storage);
    const registrar = createRegistrar({ store, clock: systemClock, policy: config.policy, log, ...(config.ticketKeys ? { ticketKeys: config.ticketKeys } : {}) });
    return { registrar, policy: config.policy, app: createMaster({ registrar, tokens, log, registrationRateLimit: config.registrationRateLimit }), firstSweep: firstSweep(registrar, log) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log('registrar is not configured: answering 503 to every request', {
      problem: err.message,
      hint: 'tokens are Worker secrets: wrangler secret put REGISTRAR_JOIN_TOKEN; wrangler secret put REGISTRAR_OPERATOR_TOKEN',
    });
    return { problem: err.message };
  }
}
