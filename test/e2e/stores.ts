// The stores the end-to-end scenarios run against: each gives the environment a master process
// needs to reach a fresh, empty registry on it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/processes.ts';

export interface E2eStore {
  name: string;
  /** Why it cannot run here (the service is missing). */
  skip?: string;
  /** Environment for a master on a fresh registry; every master of one scenario gets the same. */
  fresh(): Promise<Record<string, string>>;
}

/** A fresh registry on a store, and a port that every master of one scenario listens on. */
export async function scenarioEnv(store: E2eStore): Promise<Record<string, string>> {
  return { ...(await store.fresh()), PORT: String(await freePort()) };
}

export function e2eStores(): E2eStore[] {
  return [
    {
      name: 'leveldb',
      fresh: async () => ({ REGISTRAR_STORE: `leveldb:${join(await mkdtemp(join(tmpdir(), 'registrar-e2e-')), 'data')}` }),
    },
  ];
}
