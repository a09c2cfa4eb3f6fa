// vitest globalSetup for the etcd test service: one etcd member (Debian's etcd-server) on random
// loopback ports with a throwaway data folder (test/support/etcd.ts). Provides `etcd: { endpoints }`,
// or `{ skip }` when etcd is not installed (with CI=true that fails the run instead).
import type { TestProject } from 'vitest/node';
import { etcdMissing, startEtcdCluster } from '../support/etcd.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    etcd: { endpoints?: string[]; skip?: string };
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const missing = etcdMissing();
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`etcd test service: ${missing}`);
    console.warn(`\n*** etcd test service unavailable, its tests are skipped: ${missing} ***\n`);
    project.provide('etcd', { skip: missing });
    return undefined;
  }
  const cluster = await startEtcdCluster({ members: 1 });
  project.provide('etcd', { endpoints: cluster.endpoints });
  return cluster.stop;
}
