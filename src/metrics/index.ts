// Prometheus metrics (README, "Metrics"): one prom-client Registry per master app, never the global
// one, so tests and several apps in one process do not share counters. The entry builds one, hands
// it to its store wrapper (./store.ts) and to `createMaster`; the registry gauges are read from the
// master record at each scrape (src/master/metrics.ts).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { byteLength } from '../store.ts';

/** Seconds: from a fast in-memory call to a slow networked store. */
const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** The same in milliseconds, for Mesos' registrar timers. */
const MILLISECONDS = SECONDS.map((s) => s * 1000);

/** What a store operation came to: `unknown` is an unavailability after which a write may have applied. */
export type StoreResult = 'ok' | 'conflict' | 'unavailable' | 'unknown' | 'error';
export type StoreOperation = 'get' | 'list' | 'commit';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  storeOperations: Counter<'adapter' | 'operation' | 'result'>;
  storeDuration: Histogram<'adapter' | 'operation'>;
  /** Mesos' registrar/queued_operations: store commits in flight. */
  queuedOperations: Gauge;
  /** Mesos' registrar/state_fetch_ms: reads of one record (the master, an agent). */
  stateFetchMs: Histogram;
  /** Mesos' registrar/state_store_ms: commits. */
  stateStoreMs: Histogram;
  /** Agent records' JSON sizes seen (a sample), for the registry size estimate. */
  recordBytes: RecordSizes;
}

/** A running mean of sampled agent record sizes; old samples fade (halved past `cap`) so it follows the registry. */
export class RecordSizes {
  static readonly CAP = 10_000;
  #bytes = 0;
  #count = 0;

  sample(value: unknown): void {
    this.#bytes += byteLength(JSON.stringify(value) ?? '');
    this.#count++;
    if (this.#count > RecordSizes.CAP) {
      this.#bytes /= 2;
      this.#count /= 2;
    }
  }

  get count(): number {
    return this.#count;
  }

  /** Mean bytes of the records sampled; undefined before the first. */
  get mean(): number | undefined {
    return this.#count === 0 ? undefined : this.#bytes / this.#count;
  }
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: 'registrar_http_requests_total', help: 'HTTP requests by matched route pattern and status.', labelNames: ['method', 'route', 'status'], registers }),
    httpDuration: new Histogram({
      name: 'registrar_http_request_duration_seconds',
      help: 'HTTP request latency by matched route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS,
      registers,
    }),
    storeOperations: new Counter({
      name: 'registrar_store_operations_total',
      help: 'Store calls by adapter, operation (get, list, commit) and result (ok, conflict, unavailable, unknown outcome, error).',
      labelNames: ['adapter', 'operation', 'result'],
      registers,
    }),
    storeDuration: new Histogram({
      name: 'registrar_store_operation_duration_seconds',
      help: 'Store call latency by adapter and operation.',
      labelNames: ['adapter', 'operation'],
      buckets: SECONDS,
      registers,
    }),
    queuedOperations: new Gauge({ name: 'registrar_queued_operations', help: 'Store commits in flight (Mesos registrar/queued_operations).', registers }),
    stateFetchMs: new Histogram({
      name: 'registrar_state_fetch_ms',
      help: 'Latency of reading one record, the master or an agent, in milliseconds (Mesos registrar/state_fetch_ms).',
      buckets: MILLISECONDS,
      registers,
    }),
    stateStoreMs: new Histogram({
      name: 'registrar_state_store_ms',
      help: 'Latency of a store commit in milliseconds (Mesos registrar/state_store_ms).',
      buckets: MILLISECONDS,
      registers,
    }),
    recordBytes: new RecordSizes(),
  };
}
