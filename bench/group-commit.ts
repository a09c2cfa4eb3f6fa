// LevelDB under concurrent requests: every commit in its own synced batch (the baseline, `maxGroup: 1`)
// against group commit (the default: the commits that arrive while a batch is in flight share the
// next one), in the same run. Registrations and due heartbeats go through the master in process,
// many in flight, as a re-registration storm or a large fleet sends them; the raw conditional put
// beside them at the same concurrency.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createLevelDbStore, openLevelDb } from '../adapters/leveldb/index.ts';
import { agentKey } from '../src/registrar.ts';
import { type BenchAgent, benchMaster, call, formatTable, JOIN, perSecondInFlight, rawPutsPerSecond as rawPuts } from './support.ts';

export interface GroupCommitRun {
  registrationsPerSecond: number;
  dueHeartbeatsPerSecond: number;
  rawPutsPerSecond: number;
  /** Commits per synced batch, on average over the run. */
  commitsPerBatch: number;
}

export interface GroupCommitResult {
  agents: number;
  inFlight: number;
  oneBatchEach: GroupCommitRun;
  grouped: GroupCommitRun;
}

async function run(agents: number, inFlight: number, maxGroup: number | undefined, progress: (done: number) => void): Promise<GroupCommitRun> {
  const dir = await mkdtemp(join(os.tmpdir(), 'registrar-bench-group-'));
  const db = await openLevelDb(join(dir, 'data'));
  // Commits and synced batches, counted around the store and under it.
  let batches = 0;
  const batch = db.batch.bind(db);
  db.batch = ((...args: Parameters<typeof batch>) => {
    batches++;
    return batch(...args);
  }) as typeof db.batch;
  const store = await createLevelDbStore({ location: '', db, ...(maxGroup ? { maxGroup } : {}) });
  let commits = 0;
  const counted = {
    ...store,
    commit(...args: Parameters<typeof store.commit>) {
      commits++;
      return store.commit(...args);
    },
  };
  try {
    const { clock, policy, registrar, request } = benchMaster(counted);
    await registrar.sweep();
    const fleet: BenchAgent[] = [];
    const registrationsPerSecond = await perSecondInFlight(agents, inFlight, async (i) => {
      const res = await call(request, '/api/v1/agents', JOIN, { hostname: `host-${i}.group.example.com`, resources: { cpus: 16, mem: 65536 } });
      if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
      fleet.push((await res.json()) as BenchAgent);
      progress(fleet.length / agents / 3);
    });
    // Every agent's lastSeenAt write falls due at once: each heartbeat writes its record.
    clock.advance(policy.livenessGranularity);
    let beats = 0;
    const dueHeartbeatsPerSecond = await perSecondInFlight(agents, inFlight, async (i) => {
      const a = fleet[i]!;
      const res = await call(request, `/api/v1/agents/${a.agentId}/heartbeat`, a.secret, { epoch: a.epoch, ...(a.ticket ? { ticket: a.ticket } : {}) });
      if (res.status !== 200) throw new Error(`heartbeat answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      progress((agents + ++beats) / agents / 3);
    });
    const record = (await store.get(agentKey(fleet[0]!.agentId)))!.value;
    let puts = 0;
    const rawPutsPerSecond = await rawPuts(counted, record, agents, { inFlight, each: () => progress((2 * agents + ++puts) / agents / 3) });
    return { registrationsPerSecond, dueHeartbeatsPerSecond, rawPutsPerSecond, commitsPerBatch: commits / Math.max(1, batches) };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function measureGroupCommit(agents: number, inFlight: number, progress: (done: number) => void = () => {}): Promise<GroupCommitResult> {
  const oneBatchEach = await run(agents, inFlight, 1, (d) => progress(d / 2));
  const grouped = await run(agents, inFlight, undefined, (d) => progress(0.5 + d / 2));
  return { agents, inFlight, oneBatchEach, grouped };
}

export const GROUP_COMMIT_HEAD = ['LevelDB, many in flight', 'one batch each', 'group commit', 'ratio'];

export function groupCommitRows(r: GroupCommitResult): (string | number)[][] {
  const row = (label: string, k: keyof GroupCommitRun) => [label, r.oneBatchEach[k], r.grouped[k], r.grouped[k] / r.oneBatchEach[k]];
  return [
    row('registrations/s', 'registrationsPerSecond'),
    row('heartbeats/s, every lastSeenAt write due', 'dueHeartbeatsPerSecond'),
    row("the store's conditional put/s", 'rawPutsPerSecond'),
    row('commits per synced batch', 'commitsPerBatch'),
  ];
}

export const groupCommitTable = (r: GroupCommitResult) => formatTable(GROUP_COMMIT_HEAD, groupCommitRows(r));
