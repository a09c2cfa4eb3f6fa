// The Cloudflare Workers entry (`npm run deploy:cf`): the Worker forwards every request to one
// `Registry` Durable Object, which keeps the registry in its SQLite storage and whose alarm is the
// sweeper (DESIGN.md, "Runtimes"). Configuration comes from vars and secrets, as in loadConfig.
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectId, DurableObjectState } from '@cloudflare/workers-types';
import { createDurableObjectStore } from '../adapters/durable-objects/index.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig, requireTokens } from './config.ts';
import { createMaster } from './master/index.ts';
import type { Policy } from './registry/index.ts';
import { createRegistrar, MASTER_KEY, type Log, type Registrar } from './registrar.ts';
import type { Store } from './store.ts';

export interface Env {
  REGISTRY: {
    idFromName(name: string): DurableObjectId;
    get(id: DurableObjectId): { fetch(request: Request): Promise<Response> };
  };
  /** Vars and secrets: REGISTRAR_* settings, REGISTRAR_JOIN_TOKEN and REGISTRAR_OPERATOR_TOKEN. */
  [name: string]: unknown;
}

const log: Log = (message, fields) => console.log(JSON.stringify({ message, ...fields }));

const unavailable = (message: string, retryAfterSeconds: number) =>
  Response.json({ error: 'unavailable', message }, { status: 503, headers: { 'retry-after': String(retryAfterSeconds) } });

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const registry = env.REGISTRY.get(env.REGISTRY.idFromName('registry'));
    try {
      return await registry.fetch(request);
    } catch (err) {
      log('registry object unreachable', { error: (err as Error).message });
      return unavailable('the registry is unreachable; retry shortly', 1);
    }
  },
};

interface Serving {
  store: Store;
  registrar: Registrar;
  policy: Policy;
  app: ReturnType<typeof createMaster>;
}

export class Registry extends DurableObject<Env> {
  readonly #serving: Serving | { problem: string };
  #hasMaster = false;
  #firstSweep: Promise<void> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#serving = serve(ctx, env);
  }

  async fetch(request: Request): Promise<Response> {
    const serving = this.#serving;
    // Never an open API: without its tokens (or with a bad setting) every request is refused.
    if ('problem' in serving) return unavailable(serving.problem, 60);
    const { storage } = this.ctx;
    // Alarms give up after a few failed retries: whoever finds none set arms the next sweep.
    if ((await storage.getAlarm()) === null) await storage.setAlarm(Date.now() + serving.policy.sweepInterval);
    if (!this.#hasMaster) await this.#sweepFirst(serving);
    return serving.app.fetch(request);
  }

  /** The sweeper: one sweep, then the next alarm. */
  async alarm(): Promise<void> {
    const serving = this.#serving;
    if ('problem' in serving) return;
    try {
      await sweep(serving.registrar);
    } finally {
      await this.ctx.storage.setAlarm(Date.now() + serving.policy.sweepInterval);
    }
  }

  /** With no master record yet, the first sweep writes it before anyone is answered (once for concurrent requests). */
  async #sweepFirst(serving: Serving): Promise<void> {
    this.#firstSweep ??= (async () => {
      if (!(await serving.store.get(MASTER_KEY))) await sweep(serving.registrar);
      this.#hasMaster = (await serving.store.get(MASTER_KEY)) !== undefined;
    })().finally(() => {
      this.#firstSweep = undefined;
    });
    await this.#firstSweep;
  }
}

function serve(ctx: DurableObjectState, env: Env): Serving | { problem: string } {
  try {
    const settings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const config = loadConfig(settings, 'worker');
    if (config.store.kind !== 'durable-objects') throw new ConfigError('REGISTRAR_STORE: the Worker keeps the registry in its Durable Object; leave it unset');
    const tokens = requireTokens(config);
    const store = createDurableObjectStore(ctx.storage);
    const registrar = createRegistrar({ store, clock: systemClock, policy: config.policy, log });
    return { store, registrar, policy: config.policy, app: createMaster({ registrar, tokens, log }) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log('registrar is not configured: answering 503 to every request', {
      problem: err.message,
      hint: 'tokens are Worker secrets: wrangler secret put REGISTRAR_JOIN_TOKEN; wrangler secret put REGISTRAR_OPERATOR_TOKEN',
    });
    return { problem: `registrar is not configured: ${err.message}` };
  }
}

async function sweep(registrar: Registrar): Promise<void> {
  try {
    const report = await registrar.sweep();
    if (report.outcome === 'lease') log('sweep stopped: its lease would lapse before it finished');
  } catch (err) {
    log('sweep failed', { error: (err as Error).message });
  }
}
