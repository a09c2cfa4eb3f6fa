// The AWS Lambda entry (deployed by infra/): `handler` serves the HTTP API behind an API Gateway HTTP
// API (payload 2.0) or a buffered Function URL through hono/aws-lambda; `stream` serves it behind a
// Function URL in RESPONSE_STREAM mode, so that a registry export is never cut at Lambda's 6 MB;
// `sweeper` is the master, sweeping every sweep interval through each one-minute EventBridge
// scheduled event (DESIGN.md, "Runtimes"). Everything a container keeps lives in the one object
// `createLambdaContainer` returns, built lazily on the first invocation from the environment.
import { Hono } from 'hono';
import { handle, streamHandle, type APIGatewayProxyResult, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { secretsManagerReader, type SecretReader } from '../adapters/aws-secrets/index.ts';
import { openDynamoDbStore } from '../adapters/dynamodb/from-env.ts';
import { systemClock, type Clock } from './clock.ts';
import { ConfigError, SWEEP_SCHEDULE_MS, loadConfig, parseTokens, requireTokens, type Config, type Env } from './config.ts';
import type { TokenSource, Tokens } from './master/auth.ts';
import { createMaster } from './master/index.ts';
import { pinoLog } from './logs.ts';
import { createMetrics, type Metrics } from './metrics/index.ts';
import { meteredStore } from './metrics/store.ts';
import { SERVERLESS_RECORD_CACHE_ENTRIES, createRegistrar, type Log, type Registrar, type SweepReport } from './registrar.ts';
import { firstSweep, refusal, sweepAndLog } from './runtime.ts';
import type { Store } from './store.ts';

/** EventBridge's scheduled event; a sweep needs nothing from it but its id, for the log. */
export interface ScheduledEvent {
  id: string;
  'detail-type': string;
  source: string;
  time: string;
}

export interface LambdaContainerOptions {
  /** Settings (REGISTRAR_*); the DynamoDB client reads AWS's own variables from process.env. */
  env?: Env;
  log?: Log;
  clock?: Clock;
  /** How often the schedule invokes the sweeper (infra/: every minute); one invocation sweeps until the next is due. */
  schedulePeriodMs?: number;
  /** Reads a token secret's value (Secrets Manager by default). */
  readSecret?: SecretReader;
  /** The store, instead of the DynamoDB table REGISTRAR_STORE names (tests). */
  store?: Store;
}

/**
 * Lambda's response-streaming hook, present only inside Lambda (and in tests that fake it); the AWS
 * SDK itself leaves an empty `awslambda` object behind, so the hook is what counts.
 */
const streamingRuntime = () => typeof (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda?.streamifyResponse === 'function';
type StreamingHandler = ReturnType<typeof streamHandle>;

export interface LambdaContainer {
  handler(event: LambdaEvent, context?: LambdaContext): Promise<APIGatewayProxyResult>;
  /** The streaming handler, where the runtime provides response streaming. */
  stream?: StreamingHandler;
  /** Sweeps every sweep interval, start to start, until the next invocation is due; returns the last report. */
  sweeper(event?: ScheduledEvent): Promise<SweepReport>;
}

/** The HTTP side of a container: the master, or a refusal (then no registrar, so nothing is ever written). */
interface Api {
  app: Hono;
  serve: ReturnType<typeof handle>;
  /** Before the first request: the first sweep (a first deploy) and the tokens from their secrets. */
  ready?: () => Promise<void>;
}

type Registry = { registrar: Registrar; config: Config } | { problem: string };

/** The registry this container serves: DynamoDB only, from REGISTRAR_STORE=dynamodb:<table>. */
function openRegistry(env: Env, log: Log, clock: Clock, metrics: Metrics, store?: Store): Registry {
  try {
    if (!env.REGISTRAR_STORE) throw new ConfigError('REGISTRAR_STORE is required: dynamodb:<table>');
    const config = loadConfig(env, 'lambda');
    if (config.store.kind !== 'dynamodb') {
      throw new ConfigError(`REGISTRAR_STORE: the Lambda functions keep the registry in DynamoDB; use dynamodb:<table>, not ${config.store.kind}`);
    }
    return { registrar: createRegistrar({ store: meteredStore(store ?? openDynamoDbStore(config.store.table, { requestTimeoutMs: config.storeTimeout }), 'dynamodb', metrics), clock, policy: config.policy, log, recordCacheEntries: SERVERLESS_RECORD_CACHE_ENTRIES, ...(config.ticketKeys ? { ticketKeys: config.ticketKeys } : {}) }), config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { problem: err.message };
  }
}

/** Tokens are read again on an unknown one at most this often: a flood of bad tokens costs few reads. */
export const TOKEN_REFRESH_MS = 30_000;

/**
 * Tokens kept in Secrets Manager (REGISTRAR_JOIN_TOKEN_SECRET, REGISTRAR_OPERATOR_TOKEN_SECRET,
 * REGISTRAR_FRAMEWORK_TOKEN_SECRET): read at
 * run time, never in the function's configuration, cached by the container, and read again when a
 * request presents an unknown token, so a rotated secret is taken without a redeploy.
 */
function secretTokens(env: Env, readSecret: SecretReader, clock: Clock, log: Log): (TokenSource & { load(): Promise<void> }) | undefined {
  const joinId = env.REGISTRAR_JOIN_TOKEN_SECRET;
  const operatorId = env.REGISTRAR_OPERATOR_TOKEN_SECRET;
  const frameworkId = env.REGISTRAR_FRAMEWORK_TOKEN_SECRET;
  if (!joinId && !operatorId && !frameworkId) return undefined;
  if (!joinId || !operatorId || !frameworkId) {
    throw new ConfigError('REGISTRAR_JOIN_TOKEN_SECRET, REGISTRAR_OPERATOR_TOKEN_SECRET and REGISTRAR_FRAMEWORK_TOKEN_SECRET come together');
  }
  let tokens: Tokens | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;
  const read = () =>
    (reading ??= (async () => {
      try {
        const [join, operator, framework] = await Promise.all([readSecret(joinId), readSecret(operatorId), readSecret(frameworkId)]);
        tokens = {
          join: parseTokens('REGISTRAR_JOIN_TOKEN_SECRET', join, 'join'),
          operator: parseTokens('REGISTRAR_OPERATOR_TOKEN_SECRET', operator, 'operator'),
          framework: parseTokens('REGISTRAR_FRAMEWORK_TOKEN_SECRET', framework, 'framework'),
        };
        readAt = clock.now();
      } catch (err) {
        log('cannot read the token secrets', { error: (err as Error).message });
        if (!tokens) throw err;
      }
    })().finally(() => {
      reading = undefined;
    }));
  return {
    current: () => tokens ?? { join: [], operator: [], framework: [] },
    load: async () => {
      if (!tokens) await read();
    },
    async refresh() {
      if (clock.now() - readAt >= TOKEN_REFRESH_MS) await read().catch(() => {});
    },
  };
}

/** An API that answers every request 503 with the reason: never an open API. */
function refusingApi(problem: string): Api {
  const app = new Hono();
  app.all('*', () => refusal(problem));
  return { app, serve: handle(app) };
}

/**
 * A Lambda container's state: the registry, built on first use (a bad setting becomes a refusal, not
 * an import-time crash), and whether a `master` record has been seen. Tests call it for fresh containers.
 */
export function createLambdaContainer(options: LambdaContainerOptions = {}): LambdaContainer {
  const env = options.env ?? process.env;
  const log = options.log ?? pinoLog({ level: env.LOG_LEVEL });
  const metrics = createMetrics();
  const clock = options.clock ?? systemClock;
  let registry: Registry | undefined;
  let api: Api | undefined;

  const open = () => (registry ??= openRegistry(env, log, clock, metrics, options.store));

  /** The API with its tokens, or a refusal, logged once per container (the sweeper needs no tokens). */
  function buildApi(): Api {
    const opened = open();
    try {
      if ('problem' in opened) throw new ConfigError(opened.problem);
      const fromSecrets = secretTokens(env, options.readSecret ?? secretsManagerReader(), clock, log);
      const tokens = fromSecrets ?? requireTokens(opened.config);
      const app = createMaster({ registrar: opened.registrar, tokens, log, registrationRateLimit: opened.config.registrationRateLimit, metrics });
      const first = firstSweep(opened.registrar, log);
      return {
        app,
        serve: handle(app),
        ready: async () => {
          await fromSecrets?.load();
          await first();
        },
      };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log('registrar refuses to serve: every request answers 503 until the configuration is fixed', { problem: err.message });
      return refusingApi(err.message);
    }
  }

  /** The API, ready to serve; a secret that cannot be read is a 503, as any store trouble. */
  async function readyApi(): Promise<Api> {
    api ??= buildApi();
    try {
      await api.ready?.();
      return api;
    } catch (err) {
      return refusingApi(`the token secrets cannot be read: ${(err as Error).message}`);
    }
  }

  // Response streaming wraps one app at load time; it hands each request to the container's API.
  const streaming = new Hono();
  streaming.all('*', async (c) => (await readyApi()).app.fetch(c.req.raw, c.env));

  return {
    async handler(event, context) {
      return (await readyApi()).serve(event, context);
    },

    ...(streamingRuntime() ? { stream: streamHandle(streaming) } : {}),

    async sweeper(event) {
      const opened = open();
      if ('problem' in opened) {
        log('registrar refuses to sweep until the configuration is fixed', { problem: opened.problem });
        throw new ConfigError(opened.problem);
      }
      // Sweeps at 0, 15, 30 and 45 s of each minute with the defaults: a one-minute sweep would let an
      // outage shorter than its gap test exhaust an agent's slack (rule 3).
      const { sweepInterval } = opened.config.policy;
      const sweeps = Math.max(1, Math.floor((options.schedulePeriodMs ?? SWEEP_SCHEDULE_MS) / sweepInterval));
      const start = clock.now();
      let report: SweepReport | undefined;
      for (let n = 0; n < sweeps; n++) {
        await clock.sleep(Math.max(0, start + n * sweepInterval - clock.now()));
        try {
          report = await sweepAndLog(opened.registrar, log, event?.id ?? 'direct invocation', { everySweep: true });
        } catch (err) {
          if (n === sweeps - 1 && !report) throw err; // logged; a later sweep in this invocation may succeed
        }
      }
      return report!;
    },
  };
}

const container = createLambdaContainer();

/** The HTTP API (API Gateway HTTP API, payload 2.0, or a buffered Function URL). */
export const handler = container.handler;
/** The HTTP API behind a Function URL in RESPONSE_STREAM mode (infra/ deploys this one). */
export const stream = container.stream;
/** The master: sweeps every sweep interval through each EventBridge scheduled event. */
export const sweeper = container.sweeper;
