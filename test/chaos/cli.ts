// `npm run chaos -- [--ops 100000] [--seed N] [--agents N] [--frameworks N] [--instances N]
// [--store memory|leveldb|dynamodb|firestore|zookeeper|zookeeper-ensemble|etcd|etcd-cluster|durable-object]`:
// a long chaos run on one store (the emulators started as the tests start them, zookeeper-ensemble
// and etcd-cluster as three servers on loopback; the Durable Object under Miniflare in this process,
// ./durable-object.ts), with a progress bar; prints the faults injected and every violation, and
// exits 1 on any.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLevelDbStore } from '../../adapters/leveldb/index.ts';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { meter } from '../../src/cli/table.ts';
import { type Store, StoreUnavailableError } from '../../src/store.ts';
import { defaultPolicy } from '../support/master.ts';
import { checkHistory } from './checker.ts';
import { runChaos } from './harness.ts';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '100000' },
    store: { type: 'string', default: 'memory' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    agents: { type: 'string', default: '1000' },
    frameworks: { type: 'string', default: '20' },
    instances: { type: 'string', default: '8' },
  },
});
const ops = Number(values.ops);
const seed = Number(values.seed);

/** Starts a store's test service the way vitest's globalSetup does, and opens a fresh store on it. */
async function open(kind: string): Promise<{ store: Store; stop: () => Promise<void> }> {
  const provided: Record<string, Record<string, string>> = {};
  const project = {
    provide: (key: string, value: Record<string, string>) => {
      provided[key] = value;
    },
  } as never;
  const service = async (name: string) => {
    const setup = (await import(`../services/${name}.ts`)).default as (p: never) => Promise<(() => Promise<void>) | undefined>;
    const teardown = await setup(project);
    if (provided[name]?.skip) throw new Error(`${name}: ${provided[name].skip}`);
    return teardown ?? (async () => {});
  };
  switch (kind) {
    case 'memory':
      return { store: createMemoryStore(), stop: async () => {} };
    case 'leveldb': {
      const dir = await mkdtemp(join(tmpdir(), 'registrar-chaos-'));
      const store = await createLevelDbStore({ location: dir });
      return { store, stop: () => rm(dir, { recursive: true, force: true }) };
    }
    case 'zookeeper': {
      const stop = await service('zookeeper');
      const { createZooKeeperStore } = await import('../../adapters/zookeeper/index.ts');
      const store = await createZooKeeperStore({ connectionString: provided.zookeeper!.connectionString!, root: `/chaos-${seed}` });
      return { store, stop };
    }
    case 'zookeeper-ensemble': {
      const { startZooKeeperEnsemble } = await import('../support/zookeeper-ensemble.ts');
      // ZooKeeper's default tick: the cluster test's short one lets a loaded machine drop a follower now and then.
      const ensemble = await startZooKeeperEnsemble({ servers: 3, tickTime: 2_000 });
      const { createZooKeeperStore } = await import('../../adapters/zookeeper/index.ts');
      const store = await createZooKeeperStore({ connectionString: ensemble.connectionString, root: `/chaos-${seed}` });
      return { store, stop: ensemble.stop };
    }
    case 'etcd':
    case 'etcd-cluster': {
      // One member as the conformance suite runs it, or three, so that every commit is replicated by Raft.
      const { startEtcdCluster } = await import('../support/etcd.ts');
      const cluster = await startEtcdCluster({ members: kind === 'etcd' ? 1 : 3 });
      const { createEtcdStore } = await import('../../adapters/etcd/index.ts');
      const store = await createEtcdStore({ endpoints: cluster.endpoints, prefix: `/chaos-${seed}` });
      return { store, stop: cluster.stop };
    }
    case 'dynamodb': {
      const stop = await service('dynamodb');
      process.env.AWS_ENDPOINT_URL_DYNAMODB = provided.dynamodb!.endpoint;
      Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
      const { createTableFromEnv, openDynamoDbStore } = await import('../../adapters/dynamodb/from-env.ts');
      await createTableFromEnv(`chaos-${seed}`);
      return { store: openDynamoDbStore(`chaos-${seed}`), stop };
    }
    case 'firestore': {
      const stop = await service('firestore');
      Object.assign(process.env, { FIRESTORE_EMULATOR_HOST: provided.firestore!.host, GOOGLE_CLOUD_PROJECT: 'registrar-chaos', METADATA_SERVER_DETECTION: 'none' });
      const { openFirestoreStore } = await import('../../adapters/firestore/from-env.ts');
      return { store: openFirestoreStore(`chaos-${seed}`), stop };
    }
    case 'durable-object': {
      const { startDurableObjectStore } = await import('./durable-object.ts');
      return startDurableObjectStore(`chaos-${seed}`);
    }
    default:
      throw new Error(`--store ${kind}: memory, leveldb, dynamodb, firestore, zookeeper, zookeeper-ensemble, etcd, etcd-cluster or durable-object`);
  }
}

/**
 * The checker's own reads after the run, retried on a transient failure: on ZooKeeper the session
 * can drop while the checker keeps the event loop busy, and a lost read is no violation.
 */
function patientReads(inner: Store): Store {
  const retry = async <R>(call: () => Promise<R>): Promise<R> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  };
  return { ...inner, get: (key) => retry(() => inner.get(key)), list: (prefix, opts) => retry(() => inner.list(prefix, opts)) };
}

const bar = (done: number) => process.stderr.write(`\r${meter(done / ops, 40)} ${done}/${ops} requests`);

const { store, stop } = await open(values.store!);
const started = Date.now();
try {
  const faults = { latency: 0.05, maxLatencyMs: 3_000, unavailable: 0.02, appliedThenLost: 0.01, conflict: 0.01 };
  const run = await runChaos({ seed, policy: defaultPolicy(), ops, agents: Number(values.agents), frameworks: Number(values.frameworks), instances: Number(values.instances), store, faults, progress: bar });
  bar(run.stats.requests!);
  process.stderr.write('\n');
  const violations = await checkHistory({ ...run, store: patientReads(run.store) });
  console.log(JSON.stringify({ store: values.store, seed, requests: run.stats.requests, ...run.stats, faults: run.faults, sweeps: run.sweeps.length, marks: run.marks.length, violations: violations.length, seconds: Math.round((Date.now() - started) / 1000) }));
  for (const v of violations) console.log(`\n${v}`);
  process.exitCode = violations.length > 0 ? 1 : 0;
} finally {
  await store.close();
  await stop();
}
