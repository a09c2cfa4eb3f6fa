// `npm run bench:stores`: registration beside each store's own conditional put, on every store this
// machine can run (issue 13: "registration throughput ≥ 0.8× the store's raw conditional put in
// the same run", on every store). LevelDB in a temporary folder; DynamoDB Local, the Firestore
// emulator, ZooKeeper and etcd started as the tests start them (test/services/), each on a fresh
// table, collection or root. Durable Objects run only inside a Worker, so they are not here.
//
// npm run bench:stores -- [--agents N] [--in-flight K[,K…]] [--only leveldb,dynamodb,…]
// Each store: registrations through the master in process, then the raw put of the same record
// under another prefix, `agents` of each, `inFlight` at a time (1: one at a time, as the large
// registry part measures LevelDB), alternating twice; each side's best round is compared.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbStore, createTable } from '../adapters/dynamodb/index.ts';
import { createEtcdStore } from '../adapters/etcd/index.ts';
import { createFirestoreStore } from '../adapters/firestore/index.ts';
import { createLevelDbStore } from '../adapters/leveldb/index.ts';
import { createZooKeeperStore } from '../adapters/zookeeper/index.ts';
import { agentKey } from '../src/registrar.ts';
import type { Store } from '../src/store.ts';
import { emulatorClient } from '../test/services/firestore.ts';
import { type BenchAgent, benchMaster, call, fmt, formatTable, JOIN, perSecondInFlight, rawPutsPerSecond } from './support.ts';

type Provided = Record<string, Record<string, unknown>>;
type Setup = (project: { provide(key: string, value: unknown): void }) => Promise<(() => Promise<void>) | undefined>;

interface StoreUnderTest {
  name: string;
  service?: string;
  open(provided: Provided): Promise<{ store: Store; dispose(): Promise<void> }>;
}

const STORES: StoreUnderTest[] = [
  {
    name: 'leveldb',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'registrar-bench-stores-'));
      const store = await createLevelDbStore({ location: join(dir, 'data') });
      return { store, dispose: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'dynamodb',
    service: 'dynamodb',
    async open({ dynamodb }) {
      const client = new DynamoDBClient({ endpoint: dynamodb!.endpoint as string, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      const table = `bench-${randomUUID()}`;
      await createTable(client, table);
      return { store: createDynamoDbStore({ client, table, requestTimeoutMs: 10_000 }), dispose: async () => client.destroy() };
    },
  },
  {
    name: 'firestore',
    service: 'firestore',
    async open({ firestore }) {
      const client = emulatorClient(firestore!.host as string, `bench-${randomUUID().slice(0, 8)}`);
      return { store: createFirestoreStore({ firestore: client, collection: 'registry', deadlineMs: 10_000 }), dispose: () => client.terminate() };
    },
  },
  {
    name: 'zookeeper',
    service: 'zookeeper',
    async open({ zookeeper }) {
      return { store: await createZooKeeperStore({ connectionString: zookeeper!.connectionString as string, root: `/bench-${randomUUID()}` }), dispose: async () => {} };
    },
  },
  {
    name: 'etcd',
    service: 'etcd',
    async open({ etcd }) {
      return { store: await createEtcdStore({ endpoints: etcd!.endpoints as string[], prefix: `/bench-${randomUUID()}` }), dispose: async () => {} };
    },
  },
];

export interface StoreRegistration {
  store: string;
  agents: number;
  inFlight: number;
  registrationsPerSecond: number;
  rawPutsPerSecond: number;
  /** Each round of each side, in the order run. */
  rounds: { side: 'registration' | 'raw put'; perSecond: number }[];
}

/** Registration and the raw put on one store, alternating `rounds` times; each side's best round. */
export async function measureStore(store: Store, agents: number, inFlight: number, rounds = 2): Promise<Omit<StoreRegistration, 'store'>> {
  const { request, registrar } = benchMaster(store);
  await registrar.sweep();
  const register = async (round: number, i: number) => {
    const res = await call(request, '/api/v1/agents', JOIN, { hostname: `host-${round}-${i}.bench.example.com`, resources: { cpus: 16, mem: 65536 } });
    if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as BenchAgent;
  };
  // Twenty of each first, not counted: connections, the JIT and the store's own warm-up.
  const first = await register(-1, 0);
  const record = (await store.get(agentKey(first.agentId)))!.value;
  for (let i = 1; i < 20; i++) await register(-1, i);
  await rawPutsPerSecond(store, record, 20, { remove: true });
  const done: StoreRegistration['rounds'] = [];
  for (let round = 0; round < rounds; round++) {
    done.push({ side: 'registration', perSecond: await perSecondInFlight(agents, inFlight, async (i) => void (await register(round, i))) });
    done.push({ side: 'raw put', perSecond: await rawPutsPerSecond(store, record, agents, { inFlight, remove: true }) });
  }
  const best = (side: string) => Math.max(...done.filter((r) => r.side === side).map((r) => r.perSecond));
  return { agents, inFlight, registrationsPerSecond: best('registration'), rawPutsPerSecond: best('raw put'), rounds: done };
}

export const STORES_HEAD = ['store', 'in flight', 'registrations/s', 'raw conditional puts/s', 'ratio', '≥ 0.8'];

export function storeRows(results: StoreRegistration[]): (string | number)[][] {
  return results.map((r) => {
    const ratio = r.registrationsPerSecond / r.rawPutsPerSecond;
    return [r.store, r.inFlight, r.registrationsPerSecond, r.rawPutsPerSecond, ratio, ratio >= 0.8 ? 'yes' : 'NO'];
  });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { agents: { type: 'string' }, 'in-flight': { type: 'string' }, only: { type: 'string' } } });
  const agents = Number(values.agents ?? 1_000);
  const inFlights = (values['in-flight'] ?? '1,16').split(',').map(Number);
  if (!Number.isInteger(agents) || agents < 1 || inFlights.some((k) => !Number.isInteger(k) || k < 1)) {
    console.error('usage: node bench/stores.ts [--agents N] [--in-flight K[,K…]] [--only leveldb,dynamodb,firestore,zookeeper,etcd]');
    process.exit(2);
  }
  const only = values.only?.split(',');
  const chosen = STORES.filter((s) => !only || only.includes(s.name));
  const provided: Provided = {};
  const stops: (() => Promise<void>)[] = [];
  const results: StoreRegistration[] = [];
  try {
    for (const s of chosen) {
      if (s.service && !provided[s.service]) {
        process.stderr.write(`starting ${s.service}…\n`);
        const setup = (await import(`../test/services/${s.service}.ts`)).default as Setup;
        const stop = await setup({
          provide(key, value) {
            provided[key] = value as Record<string, unknown>;
          },
        });
        if (stop) stops.push(stop);
      }
      const service = s.service ? provided[s.service] : undefined;
      if (service && 'skip' in service) {
        console.log(`${s.name}: not measured (${String(service.skip)})`);
        continue;
      }
      for (const inFlight of inFlights) {
        process.stderr.write(`${s.name}, ${inFlight} in flight…\n`);
        const { store, dispose } = await s.open(provided);
        try {
          results.push({ store: s.name, ...(await measureStore(store, agents, inFlight)) });
        } finally {
          await store.close();
          await dispose();
        }
      }
    }
    console.log(`Registration beside each store's conditional put of the same record: ${fmt(agents)} of each, alternating twice, the best round of each compared (emulators on this machine, not the cloud services)\n`);
    console.log(formatTable(STORES_HEAD, storeRows(results)));
  } finally {
    for (const stop of stops) await stop();
  }
  process.exit(0);
}
