// The sweep's memory on a large registry (run with --expose-gc; `npm run bench` does): the live heap
// the sweeper holds while it scans, sampled after a collection at every page it reads. A Durable
// Object has 128 MB for everything, so the sweep must keep far less than that at 100,000 agents.
// Then, on the same registry, a master status (one read) and a count of the agents by a full scan.
// `node --expose-gc bench/sweep-memory.ts [agents] [--progress]` prints one line of JSON; with
// --progress, lines `progress <fraction>` on stderr for the bench's progress bar.
import { createMemoryStore } from '../adapters/memory/index.ts';
import { FakeClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createRegistrar, MASTER_KEY } from '../src/registrar.ts';
import { admitAgent } from '../src/registry/index.ts';
import { STORE_LIMITS, type Store } from '../src/store.ts';

const gc = (globalThis as { gc?: () => void }).gc;

export interface SweepHeap {
  agents: number;
  peakMiB: number;
  sweepMs: number;
  marked: number;
  /** A master status, as GET /api/v1/master answers it (one read), and the count of agents by a full scan. */
  statusMs: number;
  countMs: number;
}

/** Peak live heap above the baseline while one sweep runs over `agents` records of ~1.3 KB each. */
export async function sweepHeapPeak(agents: number, progress: (done: number) => void = () => {}): Promise<SweepHeap> {
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
    progress((0.6 * i) / agents);
  }
  // No master ran meanwhile: the sweep that starts the new epoch reads no agent, and the next one
  // scans them all (its window is open, so it marks none): the scan is the whole cost, and it is measured.
  clock.advance(policy.agentTimeout + policy.livenessGranularity + policy.sweepInterval);
  await registrar.sweep();
  clock.advance(policy.sweepInterval);
  gc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = 0;
  let listed = 0;
  const sampled: Store = {
    ...inner,
    get: (key) => inner.get(key),
    commit: (writes) => inner.commit(writes),
    async list<T>(prefix: string, opts?: Parameters<Store['list']>[1]) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
      const page = await inner.list<T>(prefix, opts);
      listed += page.items.length;
      progress(0.6 + (0.3 * listed) / agents);
      return page;
    },
  };
  const measured = createRegistrar({ store: sampled, clock, policy });
  const t = performance.now();
  const report = await measured.sweep();
  const sweepMs = performance.now() - t;
  if (!report.scanned) throw new Error(`the measured sweep did not scan (${report.outcome}, ${report.step})`);
  gc();
  peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);

  const plain = createRegistrar({ store: inner, clock, policy });
  let started = performance.now();
  const { master } = await plain.masterStatus();
  const statusMs = performance.now() - started;
  progress(0.95);
  started = performance.now();
  const { counts } = await plain.countAgents(master);
  const countMs = performance.now() - started;
  if (counts.admitted + counts.unreachable + counts.gone !== agents) throw new Error(`counted ${JSON.stringify(counts)}, not ${agents} agents`);
  await inner.close();
  return { agents, peakMiB: peak / 1024 / 1024, sweepMs, marked: report.marked.length, statusMs, countMs };
}

if (import.meta.main) {
  const agents = Number(process.argv[2] ?? 100_000);
  let percent = -1;
  const report = process.argv.includes('--progress')
    ? (done: number) => {
        if (Math.floor(done * 100) === percent) return;
        percent = Math.floor(done * 100);
        process.stderr.write(`progress ${done}\n`);
      }
    : undefined;
  const r = await sweepHeapPeak(agents, report);
  console.log(JSON.stringify(r));
}
