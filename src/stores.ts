// Opens the store a Node entry was configured with. Adapters load on demand, so a LevelDB master
// never loads a cloud SDK. Only entry files (node.ts, cli.ts) and test harnesses choose an adapter.
import type { StoreSpec } from './config.ts';
import type { Store } from './store.ts';

/** `timeoutMs`: how long one call to a networked store may take, its retries included. */
export async function openStore(spec: StoreSpec, opts: { timeoutMs?: number } = {}): Promise<Store> {
  switch (spec.kind) {
    case 'memory': {
      const { createMemoryStore } = await import('../adapters/memory/index.ts');
      return createMemoryStore();
    }
    case 'leveldb': {
      const { createLevelDbStore } = await import('../adapters/leveldb/index.ts');
      return createLevelDbStore({ location: spec.path });
    }
    case 'dynamodb': {
      const { openDynamoDbStore } = await import('../adapters/dynamodb/from-env.ts');
      return openDynamoDbStore(spec.table, { requestTimeoutMs: opts.timeoutMs });
    }
    case 'firestore': {
      const { openFirestoreStore } = await import('../adapters/firestore/from-env.ts');
      return openFirestoreStore(spec.collection, { deadlineMs: opts.timeoutMs });
    }
    case 'zookeeper': {
      const { createZooKeeperStore } = await import('../adapters/zookeeper/index.ts');
      return createZooKeeperStore({ connectionString: spec.connectionString, root: spec.root, auth: spec.auth });
    }
    case 'etcd': {
      const { createEtcdStore } = await import('../adapters/etcd/index.ts');
      return createEtcdStore({ endpoints: spec.endpoints, prefix: spec.prefix, requestTimeoutMs: opts.timeoutMs });
    }
    case 'durable-objects':
      throw new Error('the durable-objects store runs only inside the Cloudflare Worker');
  }
}
