// GET /metrics (README, "Metrics"): Prometheus text for operators, and the middleware that counts
// and times every request by its matched route pattern (never the raw path, which holds ids).
import { Hono, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Gauge, Registry } from 'prom-client';
import type { Metrics } from '../metrics/index.ts';
import { AGENT_PREFIX, type Registrar } from '../registrar.ts';
import type { MasterRecord, RecoveryState } from '../registry/index.ts';
import { byteLength } from '../store.ts';
import { requireToken, type TokenSource } from './auth.ts';

/** For the OpenAPI document. */
export const METRICS_DESCRIPTION =
  'Prometheus text exposition format: HTTP requests by route and status, store operations by adapter, the registry gauges read from the master record, and the Mesos registrar equivalents. Operator token (bearer): it reveals counts.';

/** Agent records read at a scrape to size them, when this instance has seen none (a stateless runtime's fresh container). */
export const SIZE_SAMPLE = 10;

/** The label of requests no route matched: a scanner's paths must not become series. */
export const UNMATCHED = 'unmatched';

export function requestMetrics(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const route = matchedRoutes(c)[c.req.routeIndex];
    const status = c.res.status;
    const labels = {
      method: c.req.method,
      // A middleware answering (a body too large) is labelled with its pattern; a 404 from a wildcard means no route.
      route: route && !(status === 404 && route.path.endsWith('*')) ? route.path : UNMATCHED,
      status: String(status),
    };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
  };
}

const STATES: RecoveryState[] = ['recovering', 'held', 'done'];

/**
 * The registry's gauges, from the master record (its `counts`, kept by sweeps): right on every
 * runtime, stateless ones included, at one store read. A fresh registry each scrape, so that a
 * master record that cannot be read leaves no stale values behind.
 */
function registryGauges(master: MasterRecord | undefined, now: number, recordBytes: number | undefined): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, value: number, labelNames: string[] = []) => {
    const g = new Gauge({ name, help, labelNames, registers: [registry] });
    if (labelNames.length === 0) g.set(value);
    return g;
  };
  gauge('registrar_master_record_readable', 'Whether this scrape could read the master record (0: no sweep yet, or the store is unavailable).', master ? 1 : 0);
  if (!master) return registry;
  const agents = gauge('registrar_agents', 'Agents by status, as the last sweep that scanned counted them.', 0, ['status']);
  const counts = master.counts ?? { admitted: 0, unreachable: 0, gone: 0 };
  for (const [status, n] of Object.entries(counts)) agents.set({ status }, n);
  gauge('registrar_agents_pending', 'Admitted agents not yet re-registered in an open or held recovery window (recovering).', master.pending ?? 0);
  if (master.countsAt !== undefined) gauge('registrar_agents_counted_age_seconds', 'How long ago the last sweep that scanned counted them.', (now - master.countsAt) / 1000);
  gauge('registrar_master_epoch', 'The master epoch.', master.epoch);
  gauge('registrar_master_lease_remaining_seconds', "Until the master lease lapses; negative: it lapsed that long ago (no sweeper runs).", (master.leaseExpiresAt - now) / 1000);
  const recovery = gauge('registrar_recovery_state', 'The recovery state: 1 for the current one.', 0, ['state']);
  for (const state of STATES) recovery.set({ state }, master.recovery.state === state ? 1 : 0);
  gauge('registrar_recovery_held', 'Whether marking is held (an operator may release it).', master.recovery.state === 'held' ? 1 : 0);
  const total = counts.admitted + counts.unreachable + counts.gone;
  gauge(
    'registrar_registry_size_bytes',
    "Estimated registry size (Mesos registrar/registry_size_bytes): the agents counted times their sampled mean record size, plus the master record; 0 until a record is sampled.",
    total * (recordBytes ?? 0) + byteLength(JSON.stringify(master)),
  );
  return registry;
}

export function metricsRoutes(registrar: Registrar, tokens: TokenSource, metrics: Metrics): Hono {
  const { core } = registrar;
  return new Hono().get('/', async (c) => {
    await requireToken(c, tokens, 'operator');
    const master = await core.currentMaster().then((item) => item.value, () => undefined); // reported as unreadable
    if (master && metrics.recordBytes.count === 0) await sampleRecords(registrar, metrics);
    const scrape = registryGauges(master, core.clock.now(), metrics.recordBytes.mean);
    const merged = Registry.merge([metrics.registry, scrape]);
    return c.body(await merged.metrics(), 200, { 'content-type': merged.contentType });
  });
}

/** A few agent records sized, where this instance has not seen a scan: the size estimate's sample. */
async function sampleRecords(registrar: Registrar, metrics: Metrics): Promise<void> {
  let n = 0;
  try {
    for await (const item of registrar.core.scan(AGENT_PREFIX, SIZE_SAMPLE)) {
      metrics.recordBytes.sample(item.value);
      if (++n >= SIZE_SAMPLE) break;
    }
  } catch {
    // The estimate waits for the next scrape; the other metrics are still worth answering.
  }
}
