// The Durable Objects store's patch log (adapters/durable-objects/patch-log.ts), inside workerd:
// commits of patches share log rows and leave the record rows alone, and what they made survives
// the object's restart, a fold into chunks, and a later put. The conformance suite checks the
// contract; these check the rows written, which SQLite bills.
import { env, evictDurableObject, runInDurableObject, type Stub } from 'cloudflare:test';
import type { DurableObjectState } from '@cloudflare/workers-types';
import { describe, expect, it } from 'vitest';
import { createDurableObjectStore } from '../../adapters/durable-objects/index.ts';
import type { Store, Version } from '../../src/store.ts';
import { prng } from '../support/random.ts';

const fresh = (): Stub => env.REGISTRY.get(env.REGISTRY.idFromName(crypto.randomUUID()));

/** A store built once per object instance, as the Registry builds its own. */
const stores = new WeakMap<DurableObjectState, Store>();
const inside = <R>(stub: Stub, call: (store: Store, state: DurableObjectState) => Promise<R> | R, opts: { patchWindowMs?: number } = {}): Promise<R> =>
  runInDurableObject(stub, (_, state: DurableObjectState) => {
    const store = stores.get(state) ?? createDurableObjectStore(state.storage, opts);
    stores.set(state, store);
    return call(store, state);
  });

const count = (state: DurableObjectState, table: string): number =>
  state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
const rowVersion = (state: DurableObjectState, key: string): string | undefined =>
  state.storage.sql.exec<{ version: string }>('SELECT version FROM registrar_records WHERE key = ?', key).toArray()[0]?.version;

/** `n` records agents/0 … agents/n-1, created in commits of 25; their versions. */
async function seed(stub: Stub, n: number): Promise<Version[]> {
  return inside(stub, async (store) => {
    const versions: Version[] = [];
    for (let i = 0; i < n; i += 25) {
      const keys = Array.from({ length: Math.min(25, n - i) }, (_, j) => `agents/${i + j}`);
      const written = await store.commit(keys.map((key) => ({ key, expect: 'absent' as const, put: { id: key, lastSeenAt: 0, info: { hostname: key } } })));
      versions.push(...keys.map((key) => written[key]!));
    }
    return versions;
  });
}

/** One concurrent patch of lastSeenAt per agent, each on the version it names; the new versions. */
const patchAll = (stub: Stub, versions: Version[], lastSeenAt: number, opts: { patchWindowMs?: number } = {}) =>
  inside(stub, (store) =>
    Promise.all(versions.map(async (v, i) => (await store.commit([{ key: `agents/${i}`, expect: v, patch: { lastSeenAt } }]))[`agents/${i}`]!)), opts);

describe('durable-objects patch log', () => {
  it('writes the patches of concurrent commits as one log row, and no record row', async () => {
    const stub = fresh();
    const versions = await seed(stub, 100);
    const before = await inside(stub, (_, state) => versions.map((_, i) => rowVersion(state, `agents/${i}`)));
    const patched = await patchAll(stub, versions, 1);
    await inside(stub, async (store, state) => {
      expect(count(state, 'registrar_patch_log')).toBe(1);
      // The record rows are as the puts left them; reads see the patch and its version.
      expect(versions.map((_, i) => rowVersion(state, `agents/${i}`))).toEqual(before);
      const item = await store.get<{ lastSeenAt: number; info: unknown }>('agents/7');
      expect(item).toEqual({ key: 'agents/7', version: patched[7], value: { id: 'agents/7', lastSeenAt: 1, info: { hostname: 'agents/7' } } });
      const page = await store.list<{ lastSeenAt: number }>('agents/', { limit: 1000 });
      expect(page.items.map((i) => i.value.lastSeenAt)).toEqual(Array(100).fill(1));
      expect(Object.fromEntries(page.items.map((i) => [i.key, i.version]))).toEqual(Object.fromEntries(patched.map((v, i) => [`agents/${i}`, v])));
    });
  });

  it('waits patchWindowMs for later commits to share the row', async () => {
    const stub = fresh();
    const versions = await seed(stub, 10);
    await evictDurableObject(stub); // the next instance builds its store with the window
    await inside(stub, async (store, state) => {
      // Each commit starts 5 ms after the one before: with a 200 ms window they still share a row.
      const commits = versions.map(async (v, i) => {
        await new Promise((r) => setTimeout(r, 5 * i));
        return store.commit([{ key: `agents/${i}`, expect: v, patch: { lastSeenAt: 2 } }]);
      });
      await Promise.all(commits);
      expect(count(state, 'registrar_patch_log')).toBe(1);
    }, { patchWindowMs: 200 });
  });

  it('refuses only the commit whose expectation fails, in a batch of several', async () => {
    const stub = fresh();
    const [v0, v1] = await seed(stub, 2);
    await inside(stub, async (store) => {
      const results = await Promise.allSettled([
        store.commit([{ key: 'agents/0', expect: v0!, patch: { lastSeenAt: 5 } }]),
        store.commit([{ key: 'agents/0', expect: v0!, patch: { lastSeenAt: 6 } }]), // the first moved it on
        store.commit([{ key: 'agents/1', expect: 'no-such-version', patch: { lastSeenAt: 7 } }]),
        store.commit([{ key: 'agents/1', expect: v1!, patch: { lastSeenAt: 8 } }]),
        store.commit([{ key: 'agents/9', expect: v1!, patch: { lastSeenAt: 9 } }]), // no such record
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'rejected']);
      expect(results.filter((r) => r.status === 'rejected').map((r) => (r.reason as Error).name)).toEqual(['ConflictError', 'ConflictError', 'ConflictError']);
      expect((await store.get<{ lastSeenAt: number }>('agents/0'))?.value.lastSeenAt).toBe(5);
      expect((await store.get<{ lastSeenAt: number }>('agents/1'))?.value.lastSeenAt).toBe(8);
    });
  });

  it('keeps patched values and versions across a restart of the object, and across a fold into chunks', async () => {
    const stub = fresh();
    let versions = await seed(stub, 200);
    // 200 agents × 25 rounds = 5,000 entries: past the fold's 4,096, then a few rounds more in the log.
    for (let round = 1; round <= 25; round++) versions = await patchAll(stub, versions, round);
    const rows = await inside(stub, (_, state) => ({ log: count(state, 'registrar_patch_log'), chunks: count(state, 'registrar_patch_chunks') }));
    expect(rows.chunks).toBeGreaterThan(0);
    expect(rows.log).toBeLessThan(25); // folded once: only the rounds since are in the log
    await evictDurableObject(stub);
    const after = await inside(stub, async (store) => (await store.list<{ lastSeenAt: number }>('agents/', { limit: 1000 })).items);
    expect(after.map((i) => i.value.lastSeenAt)).toEqual(Array(200).fill(25));
    expect(new Set(after.map((i) => i.version))).toEqual(new Set(versions));
    // And they go on from there.
    const next = await patchAll(stub, versions, 26);
    expect(next.every((v, i) => v !== versions[i])).toBe(true);
  });

  it('drops what was patched on a record that a put or delete rewrote, also after a restart', async () => {
    const stub = fresh();
    const [v0, v1] = await seed(stub, 2);
    const [p0, p1] = await patchAll(stub, [v0!, v1!], 3);
    await inside(stub, async (store) => {
      // A put on the patched version replaces the whole value: the patched field does not come back.
      await store.commit([{ key: 'agents/0', expect: p0!, put: { id: 'agents/0', status: 'gone' } }]);
      await store.commit([{ key: 'agents/1', expect: p1!, delete: true }]);
      expect((await store.get('agents/0'))?.value).toEqual({ id: 'agents/0', status: 'gone' });
      expect(await store.get('agents/1')).toBeUndefined();
    });
    await evictDurableObject(stub);
    await inside(stub, async (store) => {
      const item = await store.get<Record<string, unknown>>('agents/0');
      expect(item?.value).toEqual({ id: 'agents/0', status: 'gone' });
      // A new record under the deleted key starts clean, and a patch of the put's version keeps only its own field.
      await store.commit([{ key: 'agents/1', expect: 'absent', put: { id: 'agents/1' } }]);
      expect((await store.get('agents/1'))?.value).toEqual({ id: 'agents/1' });
      await store.commit([{ key: 'agents/0', expect: item!.version, patch: { lastSeenAt: 4 } }]);
      expect((await store.get('agents/0'))?.value).toEqual({ id: 'agents/0', status: 'gone', lastSeenAt: 4 });
    });
  });

  it('refuses a patch of a value that is not an object, and leaves the batch around it alone', async () => {
    const stub = fresh();
    const [v0] = await seed(stub, 1);
    await inside(stub, async (store) => {
      const n = (await store.commit([{ key: 'n', expect: 'absent', put: 5 }])).n!;
      const results = await Promise.allSettled([
        store.commit([{ key: 'n', expect: n, patch: { x: 1 } }]),
        store.commit([{ key: 'agents/0', expect: v0!, patch: { lastSeenAt: 1 } }]),
      ]);
      expect(results[0]).toMatchObject({ status: 'rejected', reason: { name: 'StoreLimitError' } });
      expect(results[1]!.status).toBe('fulfilled');
      expect((await store.get('n'))?.value).toBe(5);
    });
  });
});

describe('durable-objects patch log, when the transaction throws', () => {
  /** The storage, with the next transaction failing after it committed (the outcome then is unknown). */
  const failingAfter = (state: DurableObjectState) => {
    let armed = false;
    const host = {
      sql: state.storage.sql,
      transactionSync<T>(closure: () => T): T {
        const result = state.storage.transactionSync(closure);
        if (armed) {
          armed = false;
          throw new Error('injected: after the transaction committed');
        }
        return result;
      },
    };
    const arm = () => {
      armed = true;
    };
    return { host, arm };
  };

  it('reads what storage holds after a batch whose outcome is unknown', async () => {
    const stub = fresh();
    const [v0] = await seed(stub, 1);
    await runInDurableObject(stub, async (_, state: DurableObjectState) => {
      const { host, arm } = failingAfter(state);
      const store = createDurableObjectStore(host);
      arm();
      await expect(store.commit([{ key: 'agents/0', expect: v0!, patch: { lastSeenAt: 9 } }])).rejects.toMatchObject({ name: 'StoreUnavailableError', outcome: 'unknown' });
      // It landed: this store sees it as a new store over the same storage does, and builds on it.
      const seen = await store.get<{ lastSeenAt: number }>('agents/0');
      expect(seen).toEqual(await createDurableObjectStore(state.storage).get('agents/0'));
      expect(seen?.value.lastSeenAt).toBe(9);
      await store.commit([{ key: 'agents/0', expect: seen!.version, patch: { lastSeenAt: 10 } }]);
      expect((await createDurableObjectStore(state.storage).get<{ lastSeenAt: number }>('agents/0'))?.value.lastSeenAt).toBe(10);
    });
  });
});

describe('durable-objects patch log against a model', () => {
  type Model = Map<string, { value: Record<string, unknown>; version: Version; older: Version[] }>;

  /** Every key under `k/` as the store answers it, and as the model says it must be. */
  async function compare(store: Store, model: Model, step: string) {
    const seen = new Map<string, { value: unknown; version: Version }>();
    let cursor: string | undefined;
    do {
      const page = await store.list<Record<string, unknown>>('k/', { limit: 25, ...(cursor ? { cursor } : {}) });
      for (const i of page.items) seen.set(i.key, { value: i.value, version: i.version });
      cursor = page.cursor;
    } while (cursor);
    const expected = new Map([...model].map(([key, { value, version }]) => [key, { value, version }]));
    expect(seen, step).toEqual(expected);
    for (const key of ['k/0', 'k/5']) expect(await store.get(key), `${step}: get ${key}`).toEqual(model.has(key) ? { key, ...expected.get(key) } : undefined);
  }

  // Random rounds over 60 keys: a burst of concurrent patches (some on stale versions, some twice on
  // one key), puts and deletes between them, and restarts; some 9,000 entries pass the fold twice.
  it.each([1, 2, 3])('answers as a model of the contract does, seed %i', async (seed) => {
    const random = prng(seed);
    const stub = fresh();
    const model: Model = new Map();
    const keys = Array.from({ length: 60 }, (_, i) => `k/${i}`);
    /** A version to expect: mostly the current one, sometimes an older one or one never issued. */
    const expectFor = (key: string): Version => {
      const m = model.get(key);
      const r = random.next();
      if (!m || r < 0.1) return 'never-issued';
      if (r < 0.25 && m.older.length > 0) return random.pick(m.older);
      return m.version;
    };
    const apply = (key: string, version: Version, value: Record<string, unknown>) => {
      const m = model.get(key);
      model.set(key, { value, version, older: m ? [...m.older, m.version] : [] });
    };
    for (let round = 0; round < 300; round++) {
      await inside(stub, async (store) => {
        // Writes that replace a value (a put or a delete), one at a time.
        for (let n = random.int(3); n > 0; n--) {
          const key = random.pick(keys);
          const m = model.get(key);
          if (m && random.next() < 0.2) {
            const expectVersion = expectFor(key);
            const ok = expectVersion === m.version;
            const result = store.commit([{ key, expect: expectVersion, delete: true }]);
            if (ok) {
              await result;
              model.delete(key);
            } else await expect(result).rejects.toMatchObject({ name: 'ConflictError' });
          } else {
            const value = { put: round, n };
            const expectVersion = m ? expectFor(key) : 'absent';
            const ok = m ? expectVersion === m.version : true;
            const result = store.commit([{ key, expect: expectVersion, put: value }]);
            if (ok) apply(key, (await result)[key]!, value);
            else await expect(result).rejects.toMatchObject({ name: 'ConflictError' });
          }
        }
        // A burst of patch commits, all queued in one turn: they go out as one batch, in this order.
        const burst = Array.from({ length: 1 + random.int(120) }, (_, i) => {
          const key = random.pick(keys);
          return { key, expect: expectFor(key), patch: { seen: round * 1000 + i, [`f${random.int(3)}`]: i } };
        });
        const results = await Promise.allSettled(burst.map((w) => store.commit([w])));
        burst.forEach((w, i) => {
          const m = model.get(w.key);
          const r = results[i]!;
          if (m && m.version === w.expect) {
            expect(r.status, `round ${round}: patch ${i} of ${w.key}`).toBe('fulfilled');
            apply(w.key, (r as PromiseFulfilledResult<Record<string, Version>>).value[w.key]!, { ...m.value, ...w.patch });
          } else {
            expect(r, `round ${round}: patch ${i} of ${w.key}`).toMatchObject({ status: 'rejected', reason: { name: 'ConflictError' } });
          }
        });
        if (round % 3 === 2) await compare(store, model, `seed ${seed}, round ${round}`); // every answer above was checked already
      });
      if (random.next() < 0.15) {
        await evictDurableObject(stub);
        await inside(stub, (store) => compare(store, model, `seed ${seed}, after a restart in round ${round}`));
      }
    }
    await inside(stub, (store) => compare(store, model, `seed ${seed}, at the end`));
    expect(await inside(stub, (_, state) => count(state, 'registrar_patch_chunks'))).toBeGreaterThan(0);
  });
});
