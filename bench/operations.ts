// Store operations per heartbeat, per sweep and per `GET /api/v1/master`, counted by an instrumented
// store over a simulated run at default settings: N agents heartbeating as the agent client does
// (every heartbeatInterval × 0.98–1.0), the sweeper every sweepInterval, an operator polling the
// master status, on a fake clock. Sequential, so each store call is charged to the step that made it.
// With `instances` > 1, that many registrars share the store and each heartbeat goes to one of them
// at random, as behind a load balancer without affinity (Lambda, Cloud Run): a due write then finds
// its record in the instance's cache only when that instance handled the agent's last one.
// `node bench/operations.ts [agents] [minutes] [instances]` prints the counts alone.
import { createMemoryStore } from '../adapters/memory/index.ts';
import { heartbeatDelay } from '../src/agent/client.ts';
import { countingStore, perUnit, reads, writes, type Tally } from './counting-store.ts';
import { type BenchAgent, benchMaster, call, formatTable, JOIN, OPERATOR } from './support.ts';

export interface OperationProfile {
  agents: number;
  /** Registrars sharing the store, heartbeats spread over them at random. */
  instances: number;
  /** Simulated minutes counted (after a warm-up of agentTimeout + livenessGranularity). */
  minutes: number;
  heartbeats: number;
  sweeps: number;
  masterGets: number;
  heartbeatIntervalMs: number;
  sweepIntervalMs: number;
  /** Averages. */
  perHeartbeat: Tally;
  perSweep: Tally;
  perMasterGet: Tally;
  /** In-process time per heartbeat (routing, validation, secret hash, registrar, memory store), without the counting. */
  cpuMsPerHeartbeat: number;
  /** Heartbeats not answered 200, agents marked by the sweeps: both should be 0. */
  failed: number;
  marked: number;
}

const TICK = 100;

/** Agents' records as large as real ones: resources, a few attributes, a version. */
const info = (i: number) => ({
  hostname: `host-${i}.bench.example.com`,
  port: 5051,
  resources: { cpus: 16, mem: 65536, disk: 1_000_000 },
  attributes: { rack: `rack-${i % 40}`, zone: `zone-${i % 3}`, os: 'linux' },
  version: '1.0.0',
});

export async function measureOperations(agents: number, minutes: number, progress: (done: number) => void = () => {}, instances = 1): Promise<OperationProfile> {
  const counter = countingStore(createMemoryStore());
  const { clock, policy, registrar, request } = benchMaster(counter.store);
  const others = Array.from({ length: instances - 1 }, () => benchMaster(counter.store, clock).request);
  const anyInstance = () => (others.length === 0 ? request : [request, ...others][Math.floor(Math.random() * (others.length + 1))]!);
  const { heartbeatInterval, sweepInterval } = policy;
  counter.phase = 'sweep';
  await registrar.sweep();

  counter.phase = 'register';
  const fleet: (BenchAgent & { due: number; ticket?: string })[] = [];
  // Registrations spread over a granularity, as a fleet's are: each agent's lastSeenAt writes keep
  // the phase of its registration, so a fleet registered at one instant would write in waves, and a
  // counting window would catch one wave more or less than the average. The sweeps go on meanwhile.
  let lastSweep = clock.now();
  for (let i = 0; i < agents; i++) {
    const a = (await (await call(request, '/api/v1/agents', JOIN, info(i))).json()) as BenchAgent;
    fleet.push({ ...a, due: clock.now() + Math.random() * heartbeatInterval });
    clock.advance(policy.livenessGranularity / agents);
    if (clock.now() - lastSweep >= sweepInterval) {
      counter.phase = 'sweep';
      await registrar.sweep();
      counter.phase = 'register';
      lastSweep = clock.now();
    }
  }

  const warmUp = policy.agentTimeout + policy.livenessGranularity;
  const start = clock.now();
  const countFrom = start + warmUp;
  const end = countFrom + minutes * 60_000;
  let nextSweep = start + sweepInterval;
  let nextStatus = countFrom;
  let heartbeats = 0;
  let sweeps = 0;
  let masterGets = 0;
  let failed = 0;
  let marked = 0;
  let heartbeatMs = 0;
  let counting = false;
  while (clock.now() < end) {
    clock.advance(TICK);
    const now = clock.now();
    if (!counting && now >= countFrom) {
      counting = true;
      counter.reset();
    }
    for (const a of fleet) {
      if (a.due > now) continue;
      counter.phase = 'heartbeat';
      const overhead = counter.overheadMs;
      const t = performance.now();
      // As the agent client does: the last ticket goes back with the next heartbeat (rule 13).
      const res = await call(anyInstance(), `/api/v1/agents/${a.agentId}/heartbeat`, a.secret, { epoch: a.epoch, ...(a.ticket ? { ticket: a.ticket } : {}) });
      const body = (await res.json()) as { ticket?: string };
      a.ticket = body.ticket;
      heartbeatMs += performance.now() - t - (counter.overheadMs - overhead);
      if (res.status !== 200) failed++;
      heartbeats++;
      a.due += heartbeatDelay(heartbeatInterval); // the agent client's jitter, timed start to start as it does
    }
    if (now >= nextSweep) {
      counter.phase = 'sweep';
      marked += (await registrar.sweep()).marked.length;
      sweeps++;
      nextSweep += sweepInterval;
    }
    if (counting && now >= nextStatus) {
      counter.phase = 'master';
      const res = await call(request, '/api/v1/master', OPERATOR);
      if (res.status !== 200) throw new Error(`GET /api/v1/master answered ${res.status}`);
      await res.arrayBuffer();
      masterGets++;
      nextStatus += 30_000;
    }
    if (!counting) {
      heartbeats = sweeps = masterGets = failed = marked = 0;
      heartbeatMs = 0;
    }
    if ((now - start) % 10_000 === 0) progress((now - start) / (end - start));
  }
  await counter.store.close();
  return {
    agents,
    instances,
    minutes,
    heartbeats,
    sweeps,
    masterGets,
    heartbeatIntervalMs: heartbeatInterval,
    sweepIntervalMs: sweepInterval,
    perHeartbeat: perUnit(counter.tally('heartbeat'), heartbeats),
    perSweep: perUnit(counter.tally('sweep'), sweeps),
    perMasterGet: perUnit(counter.tally('master'), masterGets),
    cpuMsPerHeartbeat: heartbeatMs / heartbeats,
    failed,
    marked,
  };
}

/** The operation counts, as table rows: metric, measured (the goals are in ./goals.ts). */
export function operationRows(p: OperationProfile): (string | number)[][] {
  return [
    ['store reads per heartbeat', reads(p.perHeartbeat)],
    ['store writes per heartbeat', writes(p.perHeartbeat)],
    ['  store calls per heartbeat (get/list/commit)', `${fmt3(p.perHeartbeat.gets)}/${fmt3(p.perHeartbeat.lists)}/${fmt3(p.perHeartbeat.commits)}`],
    ['store reads per sweep', reads(p.perSweep)],
    ['  per sweep per agent', p.perSweep.listItems / p.agents],
    ['  store writes per sweep', writes(p.perSweep)],
    ['store reads per GET /api/v1/master', reads(p.perMasterGet)],
    ['  per agent', p.perMasterGet.listItems / p.agents],
    ['time per heartbeat in process (µs)', p.cpuMsPerHeartbeat * 1000],
  ];
}

export const OPERATIONS_HEAD = ['store operations', 'measured'];

const fmt3 = (n: number) => Number(n.toPrecision(3)).toString();

if (import.meta.main) {
  const agents = Number(process.argv[2] ?? 1_000);
  const minutes = Number(process.argv[3] ?? 8);
  const instances = Number(process.argv[4] ?? 1);
  const p = await measureOperations(agents, minutes, undefined, instances);
  console.log(`${agents} agents on ${instances} instance(s), ${minutes} simulated minutes: ${p.heartbeats} heartbeats, ${p.sweeps} sweeps, ${p.masterGets} master status reads; ${p.failed} failed, ${p.marked} marked\n`);
  console.log(formatTable(OPERATIONS_HEAD, operationRows(p)));
}
