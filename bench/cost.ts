// Cost per 1,000 agents a month, from the operation counts the bench measured (./operations.ts) ×
// the list prices in ./prices.json (the one source of prices), for Lambda + DynamoDB, Workers +
// Durable Objects and Cloud Run + Firestore, beside the runtime's request floor (a request per agent
// every 15 s, nothing else), AWS Cloud Map, and a lease that writes once per heartbeat.
// `node bench/cost.ts [agents] [minutes]` measures at that size and prints the table alone.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config.ts';
import { patchWindowFor } from '../adapters/durable-objects/index.ts';
import { PATCH_LOG_SHAPE } from '../adapters/durable-objects/patch-log.ts';
import { scaleScan, type Tally } from './counting-store.ts';
import type { OperationProfile } from './operations.ts';
import { fmt } from './support.ts';

interface Prices {
  date: string;
  kind: string;
  aws: {
    lambda: { requestPerMillion: number; gbSecondArm64: number };
    dynamodb: { readRequestUnitPerMillion: number; writeRequestUnitPerMillion: number };
    cloudMap: { instancePerMonth: number; apiCallPerMillion: number };
  };
  cloudflare: {
    workers: { requestPerMillion: number; cpuMsPerMillion: number };
    durableObjects: { requestPerMillion: number; gbSecondPerMillion: number; sqliteRowsReadPerMillion: number; sqliteRowsWrittenPerMillion: number; memoryGb: number };
  };
  google: {
    cloudRun: { requestPerMillion: number; instanceVcpuSecond: number; instanceGibSecond: number };
    firestore: { readPerMillion: number; writePerMillion: number; deletePerMillion: number };
  };
  assumptions: {
    secondsPerMonth: number;
    floorHeartbeatSeconds: number;
    lambdaApiMemoryGb: number;
    lambdaSweeperMemoryGb: number;
    lambdaSweeperScheduleSeconds: number;
    storeRoundTripMs: { dynamodb: number };
    listPageMs: number;
    durableObjectRequestsPerSecond: number;
    cloudRunConcurrencyTarget: number;
    cloudRunVcpu: number;
    cloudRunMemoryGib: number;
  };
}

export const prices = JSON.parse(readFileSync(new URL('./prices.json', import.meta.url), 'utf8')) as Prices;

const M = 1e6;
const A = prices.assumptions;
/** One Lambda vCPU per 1,769 MB. */
const LAMBDA_MB_PER_VCPU = 1769;

export interface PlatformCost {
  platform: string;
  agents: number;
  /** Dollars a month for the whole fleet, by line. */
  lines: Record<string, number>;
  total: number;
  /** The runtime's request price × one request per agent every 15 s. */
  floor: number;
  /** A lease that writes once per heartbeat: the floor plus a store write per heartbeat. */
  lease: number;
  /** What the sweeps cost (the lines named "sweep…"), and everything else: the heartbeats and what runs regardless. */
  sweep: number;
  heartbeat: number;
  /** Store reads per sweep in the units this platform bills them (DynamoDB read units, SQLite rows, Firestore documents). */
  sweepReads: { perSweep: number; unit: string };
  notes: string[];
}

/** The operations measured on one instance, and on several that heartbeats reach without affinity. */
export interface Profiles {
  one: OperationProfile;
  spread: OperationProfile;
}

/** Reads an instance makes for itself (`master` about once a lease, the ticket keys), per instance-second: they grow with instances, not heartbeats. */
const ownReadsPerSecond = (p: OperationProfile) => ((p.perHeartbeat.gets - p.perHeartbeat.agentGets) * p.heartbeats) / (Math.max(1, p.instances) * p.minutes * 60);

/**
 * Store operations per heartbeat of a fleet of `agents` served by `instances`, `cached` when the
 * agents keep the instance that last wrote their record (one instance, or one object whose cache
 * holds its agents): then a due write puts the record it holds, as measured on one instance.
 * Otherwise, as measured over several instances without affinity: the due write is a patch, and a
 * patch leaves no record cached anywhere, so from two instances on nearly every due write is one.
 * The instances' own reads are added for their number and the fleet's heartbeat rate.
 */
export function heartbeatTally({ one, spread }: Profiles, o: { instances: number; cached: boolean }, agents: number): Tally {
  const p = o.cached ? one : spread;
  const heartbeatsPerSecond = (p.heartbeats / (p.agents * p.minutes * 60)) * agents;
  const measured = p.perHeartbeat.gets - p.perHeartbeat.agentGets;
  const own = (Math.max(1, o.instances) * ownReadsPerSecond(p)) / heartbeatsPerSecond;
  // Those reads are of small records: one read unit each.
  const t = { ...p.perHeartbeat };
  for (const f of ['gets', 'getItems', 'dynamoGetUnits'] as const) t[f] = Math.max(0, t[f] - measured + own);
  return t;
}

/** The month of a fleet of `agents`: heartbeats as measured (the client's jitter included), sweeps at the runtime's default interval. */
function month(p: OperationProfile, agents: number, runtime: 'lambda' | 'worker' | 'node', hb: Tally = p.perHeartbeat) {
  const heartbeatsPerAgentSecond = p.heartbeats / (p.agents * p.minutes * 60);
  const heartbeats = heartbeatsPerAgentSecond * agents * A.secondsPerMonth;
  const floorRequests = (agents * A.secondsPerMonth) / A.floorHeartbeatSeconds;
  const sweepInterval = loadConfig({ REGISTRAR_STORE: 'memory' }, runtime).policy.sweepInterval / 1000;
  const sweeps = A.secondsPerMonth / sweepInterval;
  return { heartbeats, floorRequests, sweeps, sweepInterval, hb, sweep: scaleScan(p.perSweep, p.agents, agents) };
}

const calls = (t: Tally) => t.gets + t.lists + t.commits;
const dynamoReads = (t: Tally) => t.dynamoGetUnits + t.dynamoQueryUnits;
/** SQLite rows: a get reads its row, a page its rows and the one past it, a commit reads each key's version first (a patch its row, twice). */
const sqliteRowsRead = (t: Tally) => t.gets + t.listItems + t.lists + t.puts + t.deletes + t.checks + 2 * t.patches;
const sqliteRowsWritten = (t: Tally) => t.puts + t.deletes + t.patches;
/**
 * A Durable Object's rows for each commit of patches (adapters/durable-objects/patch-log.ts): the
 * commits that arrive within the window share one log row, written and later deleted by a fold; a
 * fold rewrites the chunk rows about once per `max(foldAfterEntries, agents)` entries. Arrivals at
 * random (Poisson) at `perSecond` put `1 + perSecond × window` commits in a row; it reads its record's row.
 */
function durableObjectPatchRows(perSecond: number, agentsPerObject: number, heartbeatIntervalMs: number) {
  const perRow = 1 + perSecond * (patchWindowFor(heartbeatIntervalMs) / 1000);
  return { written: 2 / perRow + PATCH_LOG_SHAPE.chunks / Math.max(PATCH_LOG_SHAPE.foldAfterEntries, agentsPerObject), read: 1, perRow };
}
/**
 * Firestore: a document read each get and listed document (and the one past a page); a version check
 * is a precondition on an update. A patch is a read and a write there (adapters/shared/patch.ts).
 */
const firestoreReads = (t: Tally) => t.gets + t.listItems + t.lists + t.patches;
const firestoreWrites = (t: Tally) => t.puts + t.checks + t.patches;

function lambdaDynamo(ps: Profiles, agents: number): PlatformCost {
  const { lambda, dynamodb } = prices.aws;
  const p = ps.one;
  const cpuScale = LAMBDA_MB_PER_VCPU / (A.lambdaApiMemoryGb * 1024);
  const msPerHeartbeat = (hb: Tally) => p.cpuMsPerHeartbeat * cpuScale + calls(hb) * A.storeRoundTripMs.dynamodb;
  // Instances: the heartbeats in flight at once (Little's law), at the spread measurement's store calls.
  const spread = month(p, agents, 'lambda', ps.spread.perHeartbeat);
  const instances = Math.max(1, Math.ceil((spread.heartbeats / A.secondsPerMonth) * (msPerHeartbeat(spread.hb) / 1000)));
  const m = month(p, agents, 'lambda', heartbeatTally(ps, { instances, cached: instances <= 1 }, agents));
  const heartbeatMs = msPerHeartbeat(m.hb);
  const scanMs = m.sweep.lists * A.listPageMs + (m.sweep.gets + m.sweep.commits) * A.storeRoundTripMs.dynamodb;
  const sweeperRuns = A.secondsPerMonth / A.lambdaSweeperScheduleSeconds;
  // Each run sweeps every interval until the next run is due, waiting in between.
  const sweeperSeconds = sweeperRuns * (A.lambdaSweeperScheduleSeconds - m.sweepInterval) + (m.sweeps * scanMs) / 1000;
  const rru = dynamodb.readRequestUnitPerMillion / M;
  const wru = dynamodb.writeRequestUnitPerMillion / M;
  const lines = {
    'API requests': m.heartbeats * (lambda.requestPerMillion / M),
    'API duration': ((m.heartbeats * heartbeatMs) / 1000) * A.lambdaApiMemoryGb * lambda.gbSecondArm64,
    'heartbeat reads': m.heartbeats * dynamoReads(m.hb) * rru,
    'heartbeat writes': m.heartbeats * m.hb.dynamoWriteUnits * wru,
    'sweeper runs (Lambda)': sweeperRuns * (lambda.requestPerMillion / M) + sweeperSeconds * A.lambdaSweeperMemoryGb * lambda.gbSecondArm64,
    'sweep reads': m.sweeps * dynamoReads(m.sweep) * rru,
    'sweep writes': m.sweeps * m.sweep.dynamoWriteUnits * wru,
  };
  const floor = m.floorRequests * (lambda.requestPerMillion / M);
  return finish('Lambda + DynamoDB', agents, lines, floor, floor + m.floorRequests * wru, { perSweep: dynamoReads(m.sweep), unit: 'read units' }, [`API ${fmtMs(heartbeatMs)} ms a heartbeat at ${A.lambdaApiMemoryGb * 1024} MB, ~${instances} instance(s)`]);
}

/**
 * `shards` > 1 prices the sharded design of docs/scaling.md (not built): the agents spread over that
 * many objects, each sweeping its own, and each sweep reporting to the object that holds `master`.
 */
function workersDurableObjects(ps: Profiles, agents: number, shards = 1): PlatformCost {
  const { workers, durableObjects: d } = prices.cloudflare;
  const p = ps.one;
  // One object holds the registry (or a shard of it) and its registrar, which keeps no record cache:
  // a due write is a patch on the ticket's version, as measured without affinity, and the object's
  // store logs the patches that arrive together in one row.
  const m = month(p, agents, 'worker', heartbeatTally(ps, { instances: shards, cached: false }, agents));
  // The Worker answers a heartbeat its ticket covers; the others (a store read or a due write each) reach the object.
  const reaching = m.heartbeats * Math.min(1, Math.max(m.hb.gets, m.hb.commits));
  const perSecond = reaching / A.secondsPerMonth;
  const objects = Math.max(shards, Math.ceil(perSecond / A.durableObjectRequestsPerSecond)) + (shards > 1 ? 1 : 0);
  const reports = shards > 1 ? m.sweeps * shards : 0;
  const heartbeatInterval = loadConfig({ REGISTRAR_STORE: 'memory' }, 'worker').policy.heartbeatInterval;
  const serving = shards > 1 ? shards : objects; // the objects the agents are spread over
  const patchRows = durableObjectPatchRows((m.heartbeats * m.hb.patches) / A.secondsPerMonth / serving, agents / serving, heartbeatInterval);
  const hbRowsRead = sqliteRowsRead(m.hb) - 2 * m.hb.patches + patchRows.read * m.hb.patches;
  const hbRowsWritten = sqliteRowsWritten(m.hb) - m.hb.patches + patchRows.written * m.hb.patches;
  const lines = {
    'Worker requests': m.heartbeats * (workers.requestPerMillion / M),
    'Worker CPU': m.heartbeats * p.cpuMsPerHeartbeat * (workers.cpuMsPerMillion / M),
    'DO requests (heartbeats)': reaching * (d.requestPerMillion / M),
    'sweep alarms (DO requests)': m.sweeps * Math.max(1, shards) * (d.requestPerMillion / M),
    ...(shards > 1 ? { 'sweep reports to master (DO requests, rows)': reports * ((d.requestPerMillion + d.sqliteRowsWrittenPerMillion) / M) } : {}),
    'DO duration (always active)': objects * A.secondsPerMonth * d.memoryGb * (d.gbSecondPerMillion / M),
    'heartbeat rows read': m.heartbeats * hbRowsRead * (d.sqliteRowsReadPerMillion / M),
    'heartbeat rows written': m.heartbeats * hbRowsWritten * (d.sqliteRowsWrittenPerMillion / M),
    'sweep rows read': m.sweeps * sqliteRowsRead(m.sweep) * (d.sqliteRowsReadPerMillion / M),
    'sweep rows written': m.sweeps * sqliteRowsWritten(m.sweep) * (d.sqliteRowsWrittenPerMillion / M),
  };
  const floor = m.floorRequests * (workers.requestPerMillion / M);
  const lease = m.floorRequests * ((workers.requestPerMillion + d.requestPerMillion + d.sqliteRowsWrittenPerMillion) / M);
  const batching = `~${fmtMs(patchRows.perRow)} due heartbeats a log row (${fmtMs(patchRows.written)} rows written a patch)`;
  const notes = [
    ...(shards > 1
      ? [`${shards} shards and the master's object; ${fmtMs(perSecond / shards)} heartbeats/s reach each shard`]
      : objects > 1
        ? [`${fmtMs(perSecond)} heartbeats/s reach the object: ${objects} Durable Objects at ~${A.durableObjectRequestsPerSecond}/s each (the design has one)`]
        : []),
    batching,
  ];
  const platform = shards > 1 ? `Workers + Durable Objects, ${shards} shards` : 'Workers + Durable Objects';
  return finish(platform, agents, lines, floor, lease, { perSweep: sqliteRowsRead(m.sweep), unit: 'rows read' }, notes);
}

/** The sharded design on Workers (docs/scaling.md), priced at `agents` over `shards` objects. */
export const shardedCost = (ps: Profiles, agents: number, shards: number) => workersDurableObjects(ps, agents, shards);

/**
 * Cloud Run as the registrar is deployed on it: the Node server with CPU always allocated and at least
 * one instance, so that its in-process sweeper runs. That is instance-based billing: every instance's
 * whole month at the instance prices, and no fee per request. The floor beside it is still the
 * request price × a request per agent every 15 s, what the same heartbeats cost billed by request.
 */
function cloudRunFirestore(ps: Profiles, agents: number): PlatformCost {
  const { cloudRun: run, firestore: fs } = prices.google;
  const p = ps.one;
  const perSecond = month(p, agents, 'node').heartbeats / A.secondsPerMonth;
  const instances = Math.max(1, Math.ceil((perSecond * p.cpuMsPerHeartbeat) / 1000 / (A.cloudRunVcpu * A.cloudRunConcurrencyTarget)));
  // Requests spread over the instances without affinity.
  const m = month(p, agents, 'node', heartbeatTally(ps, { instances, cached: instances <= 1 }, agents));
  const lines = {
    'instance time': instances * A.secondsPerMonth * (A.cloudRunVcpu * run.instanceVcpuSecond + A.cloudRunMemoryGib * run.instanceGibSecond),
    'heartbeat reads': m.heartbeats * firestoreReads(m.hb) * (fs.readPerMillion / M),
    'heartbeat writes': m.heartbeats * (firestoreWrites(m.hb) * fs.writePerMillion + m.hb.deletes * fs.deletePerMillion) / M,
    'sweep reads': m.sweeps * firestoreReads(m.sweep) * (fs.readPerMillion / M),
    'sweep writes': m.sweeps * (firestoreWrites(m.sweep) * fs.writePerMillion + m.sweep.deletes * fs.deletePerMillion) / M,
  };
  const floor = m.floorRequests * (run.requestPerMillion / M);
  const notes = [`${instances} instance(s) billed by instance (CPU always allocated), no per-request fee; in-process sweeps every ${m.sweepInterval} s`];
  return finish('Cloud Run + Firestore', agents, lines, floor, floor + m.floorRequests * (fs.writePerMillion / M), { perSweep: firestoreReads(m.sweep), unit: 'document reads' }, notes);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function finish(platform: string, agents: number, lines: Record<string, number>, floor: number, lease: number, sweepReads: PlatformCost['sweepReads'], notes: string[]): PlatformCost {
  const total = sum(Object.values(lines));
  const sweep = sum(Object.entries(lines).filter(([name]) => name.startsWith('sweep')).map(([, usd]) => usd));
  return { platform, agents, lines, total, floor, lease, sweep, heartbeat: total - sweep, sweepReads, notes };
}

const fmtMs = (n: number) => Number(n.toPrecision(3)).toString();

/** AWS Cloud Map for the same fleet: each agent a registered instance, each heartbeat a health update. */
export function cloudMapCost(agents: number): number {
  const { cloudMap } = prices.aws;
  return agents * cloudMap.instancePerMonth + ((agents * A.secondsPerMonth) / A.floorHeartbeatSeconds) * (cloudMap.apiCallPerMillion / M);
}

export const FLEETS = [1_000, 10_000, 100_000];
/** How many instances the spread measurement shares heartbeats over. */
export const SPREAD_INSTANCES = 8;

export function costs(ps: Profiles, fleets = FLEETS): PlatformCost[] {
  return [lambdaDynamo, workersDurableObjects, cloudRunFirestore].flatMap((platform) => fleets.map((agents) => platform(ps, agents)));
}

/** Per 1,000 agents a month, as table rows: platform, agents, ours, floor, ratio, sweeps ÷ the rest, lease, Cloud Map. */
export function costRows(all: PlatformCost[]): (string | number)[][] {
  const per1000 = (c: PlatformCost, usd: number) => (usd * 1000) / c.agents;
  return all.map((c) => [
    c.platform,
    c.agents,
    `$${per1000(c, c.total).toFixed(2)}`,
    `$${per1000(c, c.floor).toFixed(2)}`,
    c.total / c.floor,
    `${((c.sweep / c.heartbeat) * 100).toFixed(1)}%`,
    `${fmt(c.sweepReads.perSweep)} ${c.sweepReads.unit}`,
    `$${per1000(c, c.lease).toFixed(2)}`,
    `$${per1000(c, cloudMapCost(c.agents)).toFixed(2)}`,
  ]);
}

export const COST_HEAD = ['$ per 1,000 agents a month', 'agents', 'measured', 'floor', '÷ floor', 'sweeps ÷ rest', 'reads a sweep', 'lease', 'Cloud Map'];

/** Each platform's lines at one fleet size, per 1,000 agents: where the money goes. */
export function breakdown(all: PlatformCost[], agents: number): string[] {
  return all
    .filter((c) => c.agents === agents)
    .map((c) => {
      const lines = Object.entries(c.lines).map(([name, usd]) => `${name} $${((usd * 1000) / c.agents).toFixed(2)}`);
      return `${c.platform} at ${agents.toLocaleString('en-US')}: ${lines.join(', ')}${c.notes.length ? ` (${c.notes.join('; ')})` : ''}`;
    });
}

if (import.meta.main) {
  const { measureOperations } = await import('./operations.ts');
  const { formatTable } = await import('./support.ts');
  const [agents, minutes] = [Number(process.argv[2] ?? 1_000), Number(process.argv[3] ?? 8)];
  const all = costs({ one: await measureOperations(agents, minutes), spread: await measureOperations(agents, minutes, undefined, SPREAD_INSTANCES) });
  console.log(`prices: ${prices.kind}, ${prices.date} (bench/prices.json)\n`);
  console.log(formatTable(COST_HEAD, costRows(all)));
  for (const n of FLEETS) console.log(breakdown(all, n).join('\n'));
}
