// The stores the end-to-end scenarios run against: each gives the environment a master process
// needs to reach a fresh, empty registry on it. Services come from the vitest globalSetup files.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { createTable } from '../../adapters/dynamodb/index.ts';
import { freePort } from '../support/net.ts';
import { FAST } from '../support/processes.ts';

export interface E2eStore {
  name: string;
  /** Why it cannot run here (the service is missing). */
  skip?: string | undefined;
  /** Environment for a master on a fresh registry; every master of one scenario gets the same. */
  fresh(): Promise<Record<string, string>>;
  /** Run with the slower timings. */
  slow?: boolean;
}

/** A fresh registry on a store, and a port that every master of one scenario listens on. */
export async function scenarioEnv(store: E2eStore): Promise<Record<string, string>> {
  return { ...FAST, ...(store.slow ? SLOWER : {}), ...(await store.fresh()), PORT: String(await freePort()) };
}

/**
 * For stores whose emulators (JVMs) answer in tens of milliseconds, and far slower under load: a
 * full sweep (16 queries on DynamoDB) must fit well inside the lease, or a sweep would find it
 * lapsed; and an agent's re-registration, a few round trips, well inside the window.
 */
export const SLOWER = {
  REGISTRAR_MASTER_LEASE: '2s',
  REGISTRAR_REREGISTER_TIMEOUT: '4s',
};

const skipOf = (service: object) => ('skip' in service ? (service.skip as string | undefined) : undefined);

export function e2eStores(): E2eStore[] {
  const dynamodb = inject('dynamodb');
  const firestore = inject('firestore');
  const zookeeper = inject('zookeeper');
  const etcd = inject('etcd');
  return [
    {
      name: 'leveldb',
      fresh: async () => ({ REGISTRAR_STORE: `leveldb:${join(await mkdtemp(join(tmpdir(), 'registrar-e2e-')), 'data')}` }),
    },
    {
      name: 'dynamodb',
      skip: skipOf(dynamodb),
      slow: true,
      async fresh() {
        const endpoint = (dynamodb as { endpoint: string }).endpoint;
        const env = { AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
        const table = `e2e-${randomUUID()}`;
        await createTable(new DynamoDBClient({ endpoint, region: env.AWS_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }), table);
        return { ...env, REGISTRAR_STORE: `dynamodb:${table}` };
      },
    },
    {
      name: 'firestore',
      skip: skipOf(firestore),
      slow: true,
      fresh: async () => ({
        FIRESTORE_EMULATOR_HOST: (firestore as { host: string }).host,
        GOOGLE_CLOUD_PROJECT: 'registrar-e2e',
        METADATA_SERVER_DETECTION: 'none',
        REGISTRAR_STORE: `firestore:e2e-${randomUUID()}`,
      }),
    },
    {
      name: 'zookeeper',
      skip: zookeeper.skip,
      fresh: async () => ({ REGISTRAR_STORE: `zookeeper:${zookeeper.connectionString}/e2e-${randomUUID()}` }),
    },
    {
      name: 'etcd',
      skip: etcd.skip,
      fresh: async () => ({ REGISTRAR_STORE: `etcd:${etcd.endpoints!.join(',')}/e2e-${randomUUID()}` }),
    },
  ];
}
