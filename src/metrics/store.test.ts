// The metered store: it counts and times each call by result, and changes no answer and no error.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { faultyStore } from '../../test/support/master-http.ts';
import { AGENT_PREFIX } from '../registrar.ts';
import { ConflictError, StoreUnavailableError, type Store } from '../store.ts';
import { createMetrics, type Metrics } from './index.ts';
import { meteredStore } from './store.ts';

const count = async (metrics: Metrics, labels: string) => {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`registrar_store_operations_total{${labels}} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
};
const gauge = async (metrics: Metrics) => (await metrics.queuedOperations.get()).values[0]?.value;

describe('meteredStore', () => {
  it('counts conflicts, unavailability and unknown outcomes apart, and passes each error on', async () => {
    const metrics = createMetrics();
    const inner = faultyStore(createMemoryStore());
    const store = meteredStore(inner, 'memory', metrics);
    await store.commit([{ key: 'k', expect: 'absent', put: 1 }]);
    await expect(store.commit([{ key: 'k', expect: 'absent', put: 2 }])).rejects.toBeInstanceOf(ConflictError);
    inner.failure = 'unavailable';
    await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    inner.failure = 'lost-then-unknown';
    await expect(store.commit([{ key: 'k', expect: 'any', put: 3 }])).rejects.toMatchObject({ outcome: 'unknown' });
    expect(await count(metrics, 'adapter="memory",operation="commit",result="ok"')).toBe(1);
    expect(await count(metrics, 'adapter="memory",operation="commit",result="conflict"')).toBe(1);
    expect(await count(metrics, 'adapter="memory",operation="get",result="unavailable"')).toBe(1);
    expect(await count(metrics, 'adapter="memory",operation="commit",result="unknown"')).toBe(1);
    expect(await gauge(metrics)).toBe(0);
  });

  it('shows commits in flight as queued operations', async () => {
    const metrics = createMetrics();
    let release: () => void = () => {};
    const inner = createMemoryStore();
    const slow: Store = { ...inner, commit: async (w) => { await new Promise<void>((r) => { release = r; }); return inner.commit(w); } };
    const store = meteredStore(slow, 'memory', metrics);
    const pending = store.commit([{ key: 'k', expect: 'absent', put: 1 }]);
    expect(await gauge(metrics)).toBe(1);
    release();
    await pending;
    expect(await gauge(metrics)).toBe(0);
  });

  it('sizes agent records from the first of each page a scan lists', async () => {
    const metrics = createMetrics();
    const store = meteredStore(createMemoryStore(), 'memory', metrics);
    await store.commit([{ key: `${AGENT_PREFIX}a`, expect: 'absent', put: { pad: 'x'.repeat(100) } }, { key: `${AGENT_PREFIX}b`, expect: 'absent', put: { pad: '' } }]);
    await store.list('other/');
    expect(metrics.recordBytes.mean).toBeUndefined();
    await store.list(AGENT_PREFIX, { limit: 1 });
    expect(metrics.recordBytes.count).toBe(1);
    expect(metrics.recordBytes.mean).toBe(JSON.stringify({ pad: 'x'.repeat(100) }).length);
  });
});
