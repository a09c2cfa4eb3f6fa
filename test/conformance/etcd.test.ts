import { randomUUID } from 'node:crypto';
import { GRPCDeadlineExceededError, GRPCUnavailableError, type Etcd3 } from 'etcd3';
import { describe, expect, inject, it } from 'vitest';
import { createEtcdStore, loadEtcdRecords, newEtcdClient } from '../../adapters/etcd/index.ts';
import { parseStore } from '../../src/config.ts';
import { openStore } from '../../src/stores.ts';
import { ConflictError, StoreUnavailableError } from '../../src/store.ts';
import { faultSwitch, type FaultSwitch } from './faults.ts';
import { testAdapter, type StoreHandle } from './index.ts';

const { endpoints = [], skip } = inject('etcd');
const prefixes = new WeakMap<StoreHandle, string>();

/**
 * Fails the client's next txn. 'before': as grpc-js fails a call it has no connection for, without
 * sending it. 'after': etcd applies it and the answer is lost, as when the deadline passes or the
 * connection breaks just then.
 */
function withFaults(client: Etcd3, faults: FaultSwitch): Etcd3 {
  const txn = client.kv.txn.bind(client.kv);
  client.kv.txn = async (req, options) => {
    const fault = faults.take();
    if (fault === 'before') throw new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED');
    const answer = await txn(req, options);
    if (fault === 'after') throw new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded');
    return answer;
  };
  return client;
}

testAdapter('etcd', {
  skip,
  durable: true,
  // A txn refused unsent is sent again (it cannot have been applied); one whose answer was lost is read back.
  faultInjection: { unsent: 'resolved' },
  async open() {
    const prefix = `/conformance/${randomUUID()}`;
    const faults = faultSwitch();
    const store = await createEtcdStore({ endpoints, prefix, newClient: (e) => withFaults(newEtcdClient(e), faults) });
    const handle: StoreHandle = { store, reopen: () => createEtcdStore({ endpoints, prefix }), faults };
    prefixes.set(handle, prefix);
    return handle;
  },
  bulkLoad: (handle, items) => loadEtcdRecords({ endpoints, prefix: prefixes.get(handle)! }, items),
});

describe.skipIf(skip)(`etcd store${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  it('opens from REGISTRAR_STORE and keeps its records under the prefix', async () => {
    const prefix = `/spec-${randomUUID()}`;
    const store = await openStore(parseStore(`etcd:${endpoints.join(',')}${prefix}`));
    const raw = newEtcdClient(endpoints);
    try {
      const { 'agents/a': a } = await store.commit([{ key: 'agents/a', expect: 'absent', put: { n: 1 } }]);
      const stored = await raw.get(`${prefix}/r/agents/a`).buffer();
      expect(JSON.parse(stored!.toString()).v).toEqual({ n: 1 });
      expect(await raw.get(`${prefix}/layout`).string()).toBe('registrar/etcd/v1');
      expect(a).toMatch(/^\d+-[0-9a-f]{8}$/);
    } finally {
      raw.close();
      await store.close();
    }
  });

  it('refuses a prefix that holds something other than a store', async () => {
    const prefix = `/other-${randomUUID()}`;
    const raw = newEtcdClient(endpoints);
    await raw.put(`${prefix}/layout`).value('someone else');
    raw.close();
    await expect(createEtcdStore({ endpoints, prefix })).rejects.toThrow(/something other than a registrar store/);
  });

  it('refuses a prefix inside another store\'s records, and opens one beside it', async () => {
    const outer = `/outer-${randomUUID()}`;
    const store = await createEtcdStore({ endpoints, prefix: outer });
    try {
      for (const inner of [`${outer}/r/x`, `${outer}/m`, `${outer}/r/a/b`]) {
        await expect(createEtcdStore({ endpoints, prefix: inner }), inner).rejects.toThrow(/inside the registrar store at/);
      }
      expect((await store.list('')).items).toEqual([]);
      await (await createEtcdStore({ endpoints, prefix: `${outer}/staging` })).close();
    } finally {
      await store.close();
    }
  });

  it('treats a version it never issued as a conflict, sending nothing', async () => {
    const store = await createEtcdStore({ endpoints, prefix: `/odd-${randomUUID()}` });
    try {
      const { a } = await store.commit([{ key: 'a', expect: 'absent', put: 1 }]);
      for (const odd of ['0', 'abc', '-1', '1e3', '99999999999999999999', `${a!.split('-')[0]}-00000000`, a!.split('-')[0]!]) {
        await expect(store.commit([{ key: 'a', expect: odd, put: 2 }]), odd).rejects.toBeInstanceOf(ConflictError);
      }
      expect((await store.get('a'))?.value).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('says not-applied when no member can be reached, within its deadline', async () => {
    const { freePort } = await import('../support/net.ts');
    const nowhere = [`127.0.0.1:${await freePort()}`];
    const started = Date.now();
    const err = await createEtcdStore({ endpoints: nowhere, requestTimeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).outcome).toBe('not-applied');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('sends a txn again, elsewhere, when a member is down: grpc-js refused it unsent', async () => {
    const { freePort } = await import('../support/net.ts');
    const dead = `127.0.0.1:${await freePort()}`;
    const store = await createEtcdStore({ endpoints: [dead, ...endpoints], prefix: `/half-${randomUUID()}`, requestTimeoutMs: 3_000 });
    try {
      // Each call picks a member at random: about half go to the dead one first.
      for (let i = 0; i < 20; i++) await store.commit([{ key: `agents/${i}`, expect: 'absent', put: i }]);
      expect((await store.list('agents/')).items).toHaveLength(20);
    } finally {
      await store.close();
    }
  });

  it('lists a full page of large records (beyond the gRPC client\'s default 4 MiB message)', async () => {
    const store = await createEtcdStore({ endpoints, prefix: `/large-${randomUUID()}` });
    try {
      const big = 'x'.repeat(60 * 1024);
      for (let i = 0; i < 120; i += 6) {
        await store.commit(Array.from({ length: 6 }, (_, j) => ({ key: `agents/${i + j}`, expect: 'absent' as const, put: big })));
      }
      const page = await store.list('agents/', { limit: 1_000 });
      expect(page.items).toHaveLength(120);
      expect(page.cursor).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('reads back the marker of a delete-only commit whose answer was lost, and leaves no marker behind', async () => {
    const prefix = `/markers-${randomUUID()}`;
    const faults = faultSwitch();
    const store = await createEtcdStore({ endpoints, prefix, newClient: (e) => withFaults(newEtcdClient(e), faults) });
    const raw = newEtcdClient(endpoints);
    try {
      const { a } = await store.commit([{ key: 'a', expect: 'absent', put: 1 }]);
      faults.failNextWrite('after');
      expect(await store.commit([{ key: 'a', expect: a!, delete: true }])).toEqual({});
      expect(await store.get('a')).toBeUndefined();
      expect(await raw.getAll().prefix(`${prefix}/m/`).keys()).toEqual([]);
    } finally {
      raw.close();
      await store.close();
    }
  });
});
