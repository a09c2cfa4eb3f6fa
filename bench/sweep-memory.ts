// The sweep's memory on a large registry (run with --expose-gc; `npm run bench` does): the live heap
// the sweeper holds while it scans, sampled after a collection at every page it reads. A Durable
// Object has 128 MB for everything, so the sweep must keep far less than that at 100,000 agents.
import { createMemoryStore } from '../adapters/memory/index.ts';
import { FakeClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createRegistrar, MASTER_KEY } from '../src/registrar.ts';
import { admitAgent } from '../src/registry/index.ts';
import { STORE_LIMITS, type Store } from '../src/store.ts';

const gc = (globalThis as { gc?: () => void }).gc;

/** Peak live heap above the baseline while one sweep runs over `agents` records of ~1.3 KB each. */
export async function sweepHeapPeak(agents: number): Promise<{ peakMiB: number; sweepMs: number; marked: number }> {
  if (!gc) throw new Error('run with node --expose-gc');
  const inner = createMemoryStore();
  const clock = new FakeClock();
  const policy = loadConfig({}).policy;
  const registrar = createRegistrar({ store: inner, clock, policy });
  await registrar.sweep();
  const { epoch } = (await inner.get<{ epoch: number }>(MASTER_KEY))!.value;
  // Records as large as a real agent's: resources, attributes and ten events.
  const attributes = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`attribute-${i}`, `value-${i}-${'x'.repeat(24)}`]));
  for (let i = 0; i < agents; i += STORE_LIMITS.writesPerCommit) {
    const writes = [];
    for (let n = i; n < Math.min(agents, i + STORE_LIMITS.writesPerCommit); n++) {
      const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      const record = admitAgent({ id, info: { hostname: `host-${n}.example.com`, port: 5051, resources: { cpus: 16, mem: 65536, disk: 1_000_000 }, attributes, version: '1.0.0' }, secretHash: `sha256:${'h'.repeat(43)}`, epoch, now: clock.now(), by: 'join' });
      const events = Array.from({ length: 10 }, (_, e) => ({ at: clock.now() + e, type: 'reregistered', by: id }));
      writes.push({ key: `agents/${id}`, expect: 'absent' as const, put: { ...record, events } });
    }
    await inner.commit(writes);
  }
  // Every agent is overdue, and so many that the guard holds them: the scan is the whole cost.
  clock.advance(policy.agentTimeout + policy.livenessGranularity + policy.sweepInterval);
  gc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = 0;
  const sampled: Store = {
    ...inner,
    get: (key) => inner.get(key),
    commit: (writes) => inner.commit(writes),
    async list(prefix, opts) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
      return inner.list(prefix, opts);
    },
  };
  const measured = createRegistrar({ store: sampled, clock, policy });
  const t = performance.now();
  const report = await measured.sweep();
  const sweepMs = performance.now() - t;
  gc();
  peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
  await inner.close();
  return { peakMiB: peak / 1024 / 1024, sweepMs, marked: report.marked.length };
}

if (import.meta.main) {
  const agents = Number(process.argv[2] ?? 100_000);
  const { peakMiB, sweepMs } = await sweepHeapPeak(agents);
  console.log(JSON.stringify({ agents, peakMiB: Number(peakMiB.toFixed(1)), sweepMs: Math.round(sweepMs) }));
}
