import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createFirestoreStore, loadRecords } from '../../adapters/firestore/index.ts';
import { ConflictError, StoreUnavailableError, type Store, type Write } from '../../src/store.ts';
import { clearEmulatorProject, commitFaults, emulatorClient } from '../services/firestore.ts';
import { testAdapter, type StoreHandle, type StoreHarness } from './index.ts';

const service = inject('firestore');
const project = `registrar-test-${randomUUID().slice(0, 8)}`; // this file's own data on the emulator

/**
 * The emulator is a Java process on the same loaded machine: a read can stall for seconds while the
 * suite runs beside other services. The adapter's own deadline is tested below with a server that
 * never answers; here a generous one keeps a slow emulator from failing a test about something else.
 */
const EMULATOR_DEADLINE_MS = 10_000;

function openStore(host: string) {
  const collection = `records-${randomUUID()}`;
  const firestore = emulatorClient(host, project);
  return { firestore, collection, store: createFirestoreStore({ firestore, collection, deadlineMs: EMULATOR_DEADLINE_MS }), fail: commitFaults(firestore) };
}

function emulatorHarness(host: string): StoreHarness {
  const opened = new WeakMap<StoreHandle, { firestore: Firestore; collection: string }>();
  return {
    // The emulator answers a query in time proportional to the collection, so scans are slow.
    slowness: 2,
    durable: true,
    faultInjection: {},
    async open() {
      const { firestore, collection, store, fail } = openStore(host);
      const handle: StoreHandle = {
        store,
        reopen: async () => createFirestoreStore({ firestore: emulatorClient(host, project), collection, deadlineMs: EMULATOR_DEADLINE_MS }),
        faults: fail,
        dispose: () => clearEmulatorProject(host, project),
      };
      opened.set(handle, { firestore, collection });
      return handle;
    },
    bulkLoad: (handle, items) => {
      const { firestore, collection } = opened.get(handle)!;
      return loadRecords(firestore, collection, items);
    },
  };
}

testAdapter('firestore', 'skip' in service ? { skip: service.skip, open: () => Promise.reject(new Error(service.skip)) } : emulatorHarness(service.host));

describe.skipIf('skip' in service)(`firestore: commits whose answer was lost${'skip' in service ? ` (SKIPPED: ${service.skip})` : ''}`, () => {
  const stores: Store[] = [];
  const open = () => {
    const opened = openStore((service as { host: string }).host);
    stores.push(opened.store);
    return opened;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it('recognizes its own applied commit by the commit id on the documents it put', async () => {
    const { store, fail } = open();
    fail.failNextWrite('after');
    const versions = await store.commit([{ key: 'a', expect: 'absent', put: 1 }, { key: 'b', expect: 'absent', put: 2 }]);
    expect(await store.get('a')).toEqual({ key: 'a', value: 1, version: versions.a });
    expect((await store.get('b'))?.version).toBe(versions.b);
    expect(fail.fired()).toBe(1);
  });

  it('takes no conflict from a resent commit that had already applied', async () => {
    const { store, fail } = open();
    const v1 = (await store.commit([{ key: 'a', expect: 'absent', put: 1 }])).a!;
    fail.failNextWrite('resent');
    const versions = await store.commit([{ key: 'a', expect: v1, put: 2 }, { key: 'b', expect: 'absent', put: 3 }]);
    expect(await store.get('a')).toEqual({ key: 'a', value: 2, version: versions.a });
    expect(fail.fired()).toBe(1);
  });

  it('answers unknown, not conflict, for a resent delete that had already applied', async () => {
    const { store, fail } = open();
    const v1 = (await store.commit([{ key: 'a', expect: 'absent', put: 1 }])).a!;
    fail.failNextWrite('resent');
    const err = await store.commit([{ key: 'a', expect: v1, delete: true }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).outcome).toBe('unknown');
    expect(await store.get('a')).toBeUndefined();
    expect(fail.fired()).toBe(1);
  });
});

/**
 * Plays the SDK's resend of a commit whose first answer was lost: `before` runs, the commit is sent
 * and its answer (success or error) dropped, `between` runs, and the same commit is sent again; the
 * adapter sees only the second answer. Wraps Firestore#request, as commitFaults does.
 */
function lostFirstAnswer(firestore: Firestore) {
  const client = firestore as unknown as { request(method: string, ...rest: unknown[]): Promise<unknown> };
  const send = client.request.bind(firestore);
  let armed: { before?: () => Promise<void>; between?: () => Promise<void> } | undefined;
  let fired = 0;
  client.request = async (method, ...rest) => {
    const plan = method === 'commit' ? armed : undefined;
    if (plan === undefined) return send(method, ...rest);
    armed = undefined;
    fired++;
    await plan.before?.();
    await send(method, ...rest).catch(() => undefined);
    await plan.between?.();
    return send(method, ...rest);
  };
  return {
    arm(plan: { before?: () => Promise<void>; between?: () => Promise<void> }) {
      armed = plan;
    },
    fired: () => fired,
  };
}

describe.skipIf('skip' in service)(`firestore: the SDK's resend of a commit whose answer was lost${'skip' in service ? ` (SKIPPED: ${service.skip})` : ''}`, () => {
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  /** A store whose commits can be resent, another writer on the same collection, and a master and an agent record. */
  async function setUp() {
    const host = (service as { host: string }).host;
    const { firestore, collection, store } = openStore(host);
    const other = createFirestoreStore({ firestore: emulatorClient(host, project), collection, deadlineMs: EMULATOR_DEADLINE_MS });
    stores.push(store, other);
    const resend = lostFirstAnswer(firestore);
    const seeded = await store.commit([{ key: 'master', expect: 'absent', put: { epoch: 1 } }, { key: 'agents/a', expect: 'absent', put: 'seeded' }]);
    const bump = async (key: string, value: unknown) => {
      const current = await other.get(key);
      await other.commit([{ key, expect: current ? current.version : 'absent', put: value }]);
    };
    return { store, other, resend, master: seeded.master!, agent: seeded['agents/a']!, bump };
  }
  const outcomeOf = (p: Promise<unknown>) => p.then(() => 'applied', (e: unknown) => (e instanceof ConflictError ? `conflict on ${e.key}` : e instanceof StoreUnavailableError ? e.outcome : e));

  it('answers unknown, not conflict, for a delete and a check whose fence moved after the delete applied', async () => {
    const { store, resend, master, agent, bump } = await setUp();
    resend.arm({ between: () => bump('master', { epoch: 2 }) });
    const writes: Write[] = [{ key: 'agents/a', expect: agent, delete: true }, { key: 'master', expect: master, check: true }];
    expect(await outcomeOf(store.commit(writes))).toBe('unknown');
    expect(resend.fired()).toBe(1);
    expect(await store.get('agents/a')).toBeUndefined();
  });

  it('answers unknown, not conflict, for a put and a check whose put was overwritten after it applied', async () => {
    const { store, resend, master, agent, bump } = await setUp();
    resend.arm({ between: () => bump('agents/a', 'theirs') });
    const writes: Write[] = [{ key: 'agents/a', expect: agent, put: 'ours' }, { key: 'master', expect: master, check: true }];
    expect(await outcomeOf(store.commit(writes))).toBe('unknown');
    expect((await store.get('agents/a'))?.value).toBe('theirs');
  });

  it("answers unknown for a create whose record was deleted after it applied: an absent key proves nothing", async () => {
    const { store, other, resend, master, bump } = await setUp();
    resend.arm({
      between: async () => {
        const created = await other.get('agents/b');
        expect(created?.value, 'the first send applied').toBe('ours');
        await other.commit([{ key: 'agents/b', expect: created!.version, delete: true }]);
        await bump('master', { epoch: 2 });
      },
    });
    const writes: Write[] = [{ key: 'agents/b', expect: 'absent', put: 'ours' }, { key: 'master', expect: master, check: true }];
    expect(await outcomeOf(store.commit(writes))).toBe('unknown');
  });

  it('still reports the conflict when a write is still at its expected version: the commit never applied', async () => {
    const { store, resend, master, agent, bump } = await setUp();
    resend.arm({ before: () => bump('master', { epoch: 2 }) });
    const writes: Write[] = [{ key: 'agents/a', expect: agent, put: 'ours' }, { key: 'master', expect: master, check: true }];
    expect(await outcomeOf(store.commit(writes))).toBe('conflict on master');
    expect(await store.get('agents/a')).toMatchObject({ value: 'seeded', version: agent });
  });
});

describe.skipIf('skip' in service)(`firestore: document layout${'skip' in service ? ` (SKIPPED: ${service.skip})` : ''}`, () => {
  it('keeps a record as its JSON in the field "value" (the field firestore.indexes.json exempts), beside the commit marker', async () => {
    const { firestore, collection, store } = openStore((service as { host: string }).host);
    try {
      await store.commit([{ key: 'agents/x', expect: 'absent', put: { id: 'x', n: [1, 2] } }]);
      const raw = await firestore.collection(collection).doc('agents%sx').get();
      expect(Object.keys(raw.data()!).sort()).toEqual(['commit', 'value']);
      expect(raw.get('value')).toBe('{"id":"x","n":[1,2]}');
    } finally {
      await store.close();
    }
  });
});

describe('firestore: deadlines', () => {
  let blackhole: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => (blackhole ? blackhole.close(resolve) : resolve(undefined)));
    blackhole = undefined;
  });

  /** A fresh client of a "Firestore" on loopback that accepts connections and never answers. */
  async function unanswering(): Promise<Firestore> {
    blackhole = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => blackhole!.listen(0, '127.0.0.1', resolve));
    const { port } = blackhole.address() as { port: number };
    const previous = process.env.FIRESTORE_EMULATOR_HOST;
    process.env.FIRESTORE_EMULATOR_HOST = `127.0.0.1:${port}`;
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    try {
      return new Firestore({ projectId: 'blackhole' });
    } finally {
      if (previous === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
      else process.env.FIRESTORE_EMULATOR_HOST = previous;
    }
  }

  const timed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    const err = await call().then(() => undefined, (e: unknown) => e);
    return { err, ms: performance.now() - started };
  };

  it('fails get, list and commit within their deadline when Firestore never answers', { timeout: 20_000 }, async () => {
    const store = createFirestoreStore({ firestore: await unanswering(), collection: 'records', deadlineMs: 1_000 });
    try {
      const calls: [string, () => Promise<unknown>, 'not-applied' | 'unknown'][] = [
        ['get', () => store.get('a'), 'not-applied'],
        ['list', () => store.list(''), 'not-applied'],
        ['commit', () => store.commit([{ key: 'a', expect: 'absent', put: 1 }]), 'unknown'],
      ];
      for (const [what, call, outcome] of calls) {
        const { err, ms } = await timed(call);
        expect(err, what).toBeInstanceOf(StoreUnavailableError);
        expect((err as StoreUnavailableError).outcome, what).toBe(outcome);
        expect(ms, `${what} took ${Math.round(ms)} ms`).toBeLessThan(1_000 + 250);
      }
      expect(sockets.length, 'the client did reach the unanswering server').toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('has a default deadline of a few seconds', { timeout: 20_000 }, async () => {
    const store = createFirestoreStore({ firestore: await unanswering(), collection: 'records' });
    try {
      const { err, ms } = await timed(() => store.get('a'));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(ms).toBeGreaterThan(1_000);
      expect(ms).toBeLessThan(3_500);
    } finally {
      await store.close();
    }
  });
});
