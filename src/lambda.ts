// The AWS Lambda entry (deployed by infra/): `handler` serves the HTTP API behind a Function URL or an
// API Gateway HTTP API (payload 2.0) through hono/aws-lambda; `sweeper` is the master, one sweep per
// EventBridge scheduled event (DESIGN.md, "Runtimes"). Everything a container keeps lives in the one
// object `createLambdaContainer` returns, built lazily on the first invocation from the environment.
import { Hono } from 'hono';
import { handle, type APIGatewayProxyResult, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { openDynamoDbStore } from '../adapters/dynamodb/from-env.ts';
import { systemClock, type Clock } from './clock.ts';
import { ConfigError, loadConfig, requireTokens, type Config, type Env } from './config.ts';
import { createMaster } from './master/index.ts';
import { createRegistrar, type Log, type Registrar, type SweepReport } from './registrar.ts';
import { firstSweep, jsonLog, refusal, sweepAndLog } from './runtime.ts';

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
}

export interface LambdaContainer {
  handler(event: LambdaEvent, context?: LambdaContext): Promise<APIGatewayProxyResult>;
  sweeper(event?: ScheduledEvent): Promise<SweepReport>;
}

/** The HTTP side of a container: the master, or a refusal (then no registrar, so nothing is ever written). */
interface Api {
  serve: ReturnType<typeof handle>;
  /** With no `master` record yet, the first request runs the first sweep (a first deploy). */
  firstSweep?: () => Promise<void>;
}

type Registry = { registrar: Registrar; config: Config } | { problem: string };

/** The registry this container serves: DynamoDB only, from REGISTRAR_STORE=dynamodb:<table>. */
function openRegistry(env: Env, log: Log, clock: Clock): Registry {
  try {
    if (!env.REGISTRAR_STORE) throw new ConfigError('REGISTRAR_STORE is required: dynamodb:<table>');
    const config = loadConfig(env, 'lambda');
    if (config.store.kind !== 'dynamodb') {
      throw new ConfigError(`REGISTRAR_STORE: the Lambda functions keep the registry in DynamoDB; use dynamodb:<table>, not ${config.store.kind}`);
    }
    const store = openDynamoDbStore(config.store.table);
    return { registrar: createRegistrar({ store, clock, policy: config.policy, log }), config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { problem: err.message };
  }
}

/** An API that answers every request 503 with the reason: never an open API. */
function refusingApi(problem: string) {
  const app = new Hono();
  app.all('*', () => refusal(problem));
  return handle(app);
}

/**
 * A Lambda container's state: the registry, built on first use (a bad setting becomes a refusal, not
 * an import-time crash), and whether a `master` record has been seen. Tests call it for fresh containers.
 */
export function createLambdaContainer(options: LambdaContainerOptions = {}): LambdaContainer {
  const env = options.env ?? process.env;
  const log = options.log ?? jsonLog;
  const clock = options.clock ?? systemClock;
  let registry: Registry | undefined;
  let api: Api | undefined;

  const open = () => (registry ??= openRegistry(env, log, clock));

  /** The API with its tokens, or a refusal, logged once per container (the sweeper needs no tokens). */
  function buildApi(): Api {
    const opened = open();
    try {
      if ('problem' in opened) throw new ConfigError(opened.problem);
      const app = createMaster({ registrar: opened.registrar, tokens: requireTokens(opened.config), log });
      return { serve: handle(app), firstSweep: firstSweep(opened.registrar, log) };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log('registrar refuses to serve: every request answers 503 until the configuration is fixed', { problem: err.message });
      return { serve: refusingApi(err.message) };
    }
  }

  return {
    async handler(event, context) {
      api ??= buildApi();
      await api.firstSweep?.();
      return api.serve(event, context);
    },

    async sweeper(event) {
      const opened = open();
      if ('problem' in opened) {
        log('registrar refuses to sweep until the configuration is fixed', { problem: opened.problem });
        throw new ConfigError(opened.problem);
      }
      return sweepAndLog(opened.registrar, log, event?.id ?? 'direct invocation', { everySweep: true });
    },
  };
}

const container = createLambdaContainer();

/** The HTTP API (Function URL or API Gateway HTTP API, payload 2.0). */
export const handler = container.handler;
/** The master: one sweep per EventBridge scheduled event. */
export const sweeper = container.sweeper;
