// The master: one Hono app for every runtime (DESIGN.md, "HTTP API"). Entry files build the
// registrar and tokens and pass them in; nothing here knows its runtime or its store.
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { leaseLapsed } from '../registry/index.ts';
import type { Log, Registrar } from '../registrar.ts';
import { agentRoutes } from './agent-routes.ts';
import { fixedTokens, operatorLabel, type TokenSource, type Tokens } from './auth.ts';
import { ApiError, errorHandler } from './errors.ts';
import { eventRoutes } from './events-routes.ts';
import { frameworkRoutes } from './framework-routes.ts';
import { mesosRoutes } from './mesos-routes.ts';
import { docRoutes } from './openapi-routes.ts';
import { operatorRoutes } from './operator-routes.ts';
import type { Rate } from './rate-limit.ts';
import { MAX_BODY_BYTES } from './schemas.ts';
import { createMetrics, type Metrics } from '../metrics/index.ts';
import { metricsRoutes, requestMetrics } from './metrics.ts';
import { requestId } from './request-id.ts';
import { dashboardRoutes } from '../dashboard/index.ts';
import { StoreUnavailableError } from '../store.ts';

export interface MasterDeps {
  registrar: Registrar;
  /** Fixed tokens, or a source that reads them at run time and again when one presented is unknown. */
  tokens: Tokens | TokenSource;
  log?: Log;
  /** Registrations per join-token label in this instance; unlimited when absent. */
  registrationRateLimit?: Rate;
  /** The app's metrics, shared with the entry's store wrapper; a registry of its own when absent. */
  metrics?: Metrics;
}

const tooLarge = () => {
  throw new ApiError(413, 'payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
};
const streamedBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });

/**
 * Bodies are limited to MAX_BODY_BYTES. A declared length is judged from the headers alone, as Hono's
 * bodyLimit judges it, but without asking for `c.req.raw.body`: on Node that builds a web stream and
 * a full Request for every request, a large part of a heartbeat's cost (issue 13). A body of no
 * declared length is counted as it streams, by Hono's bodyLimit.
 */
const limitBody: MiddlewareHandler = (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  const length = c.req.header('content-length');
  if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamedBodyLimit(c, next);
  return Number.parseInt(length, 10) > MAX_BODY_BYTES ? tooLarge() : next();
};

export function createMaster(deps: MasterDeps): Hono {
  const { registrar } = deps;
  const tokens = 'current' in deps.tokens ? deps.tokens : fixedTokens(deps.tokens);
  const log = deps.log ?? (() => {});
  const { policy, clock } = registrar.core;
  const app = new Hono();
  const metrics = deps.metrics ?? createMetrics();

  app.use(requestId(), requestMetrics(metrics));
  app.use('/api/*', limitBody);
  app.route('/metrics', metricsRoutes(registrar, tokens, metrics));
  app.route('/api/v1/agents', agentRoutes(registrar, tokens, deps.registrationRateLimit));
  app.route('/api/v1/events', eventRoutes(registrar, tokens)); // Server-Sent Events from the event log
  app.route('/api/v1/frameworks', frameworkRoutes(registrar, tokens, deps.registrationRateLimit)); // schedulers, and operators on them
  app.route('/', mesosRoutes(registrar, tokens)); // POST /api/v1 exactly, GET /master/slaves
  app.route('/api/v1', operatorRoutes(registrar, tokens));
  app.route('/', docRoutes()); // GET /openapi.json, /doc
  app.route('/', dashboardRoutes(registrar, tokens, log)); // GET /, /agents, /agents/:id, /frameworks, /frameworks/:id, /login; POST /login, /logout, /actions/*

  app.get('/health', async (c) => {
    // A store that failed in a way only a restart mends answers reads but not writes: not healthy.
    const problem = registrar.core.store.problem?.();
    if (problem) throw new StoreUnavailableError(problem);
    // The cached master (at most maxClockSkew old): polling /health costs the store little.
    const { value: master } = await registrar.core.currentMaster();
    const lapsed = leaseLapsed(master, clock.now(), policy);
    const held = master.recovery.state === 'held';
    // Anyone may ask whether the master serves; why marking is held, and how many, is for operators.
    const operator = operatorLabel(c, tokens) !== undefined;
    const warnings = [
      ...(held ? [operator ? `marking is held: ${master.recovery.heldReason}` : 'marking is held'] : []),
      ...(lapsed ? ['the master lease has lapsed: no sweeper is running, so failure detection has stopped'] : []),
    ];
    const details = operator ? { epoch: master.epoch, leaseExpiresAt: master.leaseExpiresAt } : {};
    return c.json({ status: 'serving', recovery: master.recovery.state, held, leaseLapsed: lapsed, ...details, warnings });
  });

  app.notFound((c) => c.json({ error: 'not_found', message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError(errorHandler(log, Math.max(1, Math.ceil(policy.sweepInterval / 1000))));
  return app;
}
