import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, StoreUnavailableError } from '../../src/store.ts';
import { createLevelDbStore, openLevelDb } from './index.ts';

const run = promisify(execFile);
const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registrar-leveldb-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('leveldb store', () => {
  it('creates a missing data folder', async () => {
    const location = join(await tempDir(), 'nested', 'data');
    const store = await createLevelDbStore({ location });
    await store.commit([{ key: 'a', expect: 'absent', put: 1 }]);
    await store.close();
    expect((await stat(location)).isDirectory()).toBe(true);
  });

  it('gives a second process on the same folder a clear error, and the data stays intact', async () => {
    const location = await tempDir();
    const store = await createLevelDbStore({ location });
    const { a } = await store.commit([{ key: 'a', expect: 'absent', put: { kept: true } }]);
    const script = `
      import { createLevelDbStore } from ${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)};
      try { await createLevelDbStore({ location: ${JSON.stringify(location)} }); console.log('opened'); }
      catch (e) { console.log(e.name + ': ' + e.message); }`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe(`StoreUnavailableError: the LevelDB store at ${location} is in use by another process (one master per data folder)`);
    expect(await store.get('a')).toEqual({ key: 'a', value: { kept: true }, version: a });
    await store.close();
  });

  it('refuses to open the same folder twice in one process', async () => {
    const location = await tempDir();
    const store = await createLevelDbStore({ location });
    await expect(createLevelDbStore({ location })).rejects.toBeInstanceOf(StoreUnavailableError);
    await store.close();
  });

  it('keeps its data folder private (0700)', async () => {
    const location = join(await tempDir(), 'data');
    const store = await createLevelDbStore({ location });
    await store.close();
    expect((await stat(location)).mode & 0o777).toBe(0o700);
  });

  it('reports a failed synced write as an unknown outcome, and says so as a problem until it is reopened', async () => {
    // LevelDB documents that a failed synced write may still appear after a reopen: nothing can be
    // promised either way, and the handle is not to be trusted with more writes.
    const location = await tempDir();
    const db = await openLevelDb(location);
    db.batch = (async () => {
      throw new Error('injected: IO error');
    }) as unknown as typeof db.batch;
    const store = await createLevelDbStore({ location, db });
    expect(store.problem?.()).toBeUndefined();
    const err = await store.commit([{ key: 'missing', expect: 'any', delete: true }, { key: 'b', expect: 'absent', put: 1 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).outcome).toBe('unknown');
    expect(store.problem?.()).toMatch(/LevelDB write failed.*restart/);
    await store.close();
  });

  it('reports a failed read as unavailable, never as a missing record, and a commit that cannot read its expectations as not applied', async () => {
    const location = await tempDir();
    const db = await openLevelDb(location);
    const store = await createLevelDbStore({ location, db });
    await store.commit([{ key: 'a', expect: 'absent', put: 1 }]);
    db.getSync = (() => {
      throw new Error('injected: read error');
    }) as unknown as typeof db.getSync;
    await expect(store.get('a')).rejects.toBeInstanceOf(StoreUnavailableError);
    const err = await store.commit([{ key: 'a', expect: 'any', put: 2 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).outcome).toBe('not-applied');
    expect(store.problem?.()).toBeUndefined();
    await store.close();
  });

  it('proves a write applied from any of its writes, not only the first', async () => {
    const location = await tempDir();
    const db = await openLevelDb(location);
    const batch = db.batch.bind(db);
    db.batch = (async (...args: Parameters<typeof batch>) => {
      await batch(...args);
      throw new Error('injected: IO error after write');
    }) as unknown as typeof db.batch;
    const store = await createLevelDbStore({ location, db });
    const versions = await store.commit([{ key: 'missing', expect: 'any', delete: true }, { key: 'b', expect: 'absent', put: 1 }]);
    expect((await store.get('b'))?.version).toBe(versions.b);
    await store.close();
  });

  it('lists a page larger than one native read of the folder (4 MiB) whole, in order, and stops at its prefix', async () => {
    const store = await createLevelDbStore({ location: await tempDir() });
    const big = 'x'.repeat(60_000); // 80 of these are past one read
    await store.commit([{ key: 'a/', expect: 'absent', put: 'before' }, { key: 'c', expect: 'absent', put: 'after' }]);
    for (let i = 0; i < 80; i++) await store.commit([{ key: `b/${String(i).padStart(2, '0')}`, expect: 'absent', put: { i, big } }]);
    const all = await store.list<{ i: number }>('b/', { limit: 1000 });
    expect(all.items.map((item) => item.value.i)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    expect(all.cursor).toBeUndefined();
    const first = await store.list<{ i: number }>('b/', { limit: 79 });
    expect(first.items).toHaveLength(79);
    const rest = await store.list<{ i: number }>('b/', { limit: 79, cursor: first.cursor });
    expect(rest.items.map((item) => item.key)).toEqual(['b/79']);
    expect(rest.cursor).toBeUndefined();
    await store.close();
  });

  it('reads none of the records after a prefix to list it', async () => {
    const db = await openLevelDb(await tempDir());
    const read: string[] = [];
    const iterator = db.iterator.bind(db);
    db.iterator = ((options: Parameters<typeof db.iterator>[0]) => {
      const it = iterator(options);
      const nextv = it.nextv.bind(it);
      it.nextv = (async (size: number) => {
        const entries = await nextv(size);
        read.push(...(entries as [string, string][]).map(([key]) => key));
        return entries;
      }) as typeof it.nextv;
      return it;
    }) as typeof db.iterator;
    const store = await createLevelDbStore({ location: '', db });
    await store.commit([{ key: 'frameworks/f1', expect: 'absent', put: 1 }]);
    for (let i = 0; i < 50; i++) await store.commit([{ key: `frameworks0/${i}`, expect: 'absent', put: i }]); // the next key after the prefix's
    expect((await store.list('frameworks/')).items.map((item) => item.key)).toEqual(['frameworks/f1']);
    expect(read).toEqual(['frameworks/f1']);
    await store.close();
  });

  describe('group commit', () => {
    it('refuses a group size that would write nothing', async () => {
      const location = await tempDir();
      for (const maxGroup of [0, -1, 1.5]) await expect(createLevelDbStore({ location, maxGroup })).rejects.toThrow(/maxGroup must be a whole number of at least 1/);
    });

    /** A store whose batches are counted and wait, each, until the test lets them go (or fail). */
    async function gatedStore() {
      const location = await tempDir();
      const db = await openLevelDb(location);
      const batch = db.batch.bind(db);
      const batches: number[] = [];
      let release: () => void = () => {};
      let gate = Promise.resolve();
      let fault: 'before' | 'after' | undefined;
      db.batch = (async (...args: Parameters<typeof batch>) => {
        batches.push(((args as unknown[])[0] as unknown[]).length);
        await gate;
        if (fault === 'before') throw new Error('injected: IO error before write');
        await batch(...args);
        if (fault === 'after') throw new Error('injected: IO error after write');
      }) as unknown as typeof db.batch;
      const hold = () => {
        gate = new Promise((resolve) => {
          release = resolve;
        });
      };
      const store = await createLevelDbStore({ location, db });
      return { location, store, batches, hold, release: () => release(), fail: (mode: 'before' | 'after') => (fault = mode) };
    }
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

    it('writes the commits that arrive while a batch is in flight in one synced batch, each answered with its own versions once durable', async () => {
      const { location, store, batches, hold, release } = await gatedStore();
      hold();
      const first = store.commit([{ key: 'first', expect: 'absent', put: 0 }]);
      const rest = Array.from({ length: 40 }, (_, i) => store.commit([{ key: `k${i}`, expect: 'absent', put: i }, { key: `e${i}`, expect: 'absent', put: { i } }]));
      await settle();
      expect(batches).toEqual([1]); // the others wait for the batch in flight
      release();
      const versions = await Promise.all([first, ...rest]);
      expect(batches).toEqual([1, 80]);
      await store.close();
      const reopened = await createLevelDbStore({ location });
      for (let i = 0; i < 40; i++) {
        expect(await reopened.get(`k${i}`)).toEqual({ key: `k${i}`, value: i, version: versions[i + 1]![`k${i}`] });
        expect((await reopened.get(`e${i}`))?.version).toBe(versions[i + 1]![`e${i}`]);
      }
      await reopened.close();
    });

    it('refuses only the commit whose expectation fails against the ones before it, and only once the others landed', async () => {
      const { store, hold, release, batches } = await gatedStore();
      const { taken } = await store.commit([{ key: 'taken', expect: 'absent', put: 'old' }]);
      hold();
      const blocker = store.commit([{ key: 'blocker', expect: 'absent', put: 1 }]);
      await settle();
      const a = store.commit([{ key: 'k', expect: 'absent', put: 'a' }]);
      const b = store.commit([{ key: 'k', expect: 'absent', put: 'b' }, { key: 'other', expect: 'absent', put: 'b' }]);
      const c = store.commit([{ key: 'taken', expect: taken!, put: 'c' }]);
      const d = store.commit([{ key: 'taken', expect: taken!, delete: true }]);
      const e = store.commit([{ key: 'nowhere', expect: 'absent', check: true }, { key: 'j', expect: 'absent', put: 'e' }]);
      const f = store.commit([{ key: 'k', expect: 'absent', check: true }]); // a created it, earlier in the same batch
      const refusedB = b.then(async () => 'applied', async (err: unknown) => ({ err, k: await store.get('k') }));
      release();
      await blocker;
      const versions = await a;
      const refused = await refusedB;
      expect(refused).toEqual({ err: expect.any(ConflictError), k: { key: 'k', value: 'a', version: versions.k } });
      await c;
      await expect(d).rejects.toBeInstanceOf(ConflictError);
      await e;
      await expect(f).rejects.toBeInstanceOf(ConflictError);
      expect(batches).toEqual([1, 1, 3]);
      expect(await store.get('other')).toBeUndefined();
      expect((await store.get('taken'))?.value).toBe('c');
      expect((await store.get('j'))?.value).toBe('e');
      await store.close();
    });

    for (const [mode, shown] of [['before', false], ['after', true]] as const) {
      it(`answers every commit of a batch that failed ${mode} reaching the folder ${shown ? 'as applied' : 'as unknown'}`, async () => {
        const { store, hold, release, fail } = await gatedStore();
        hold();
        const blocker = store.commit([{ key: 'blocker', expect: 'absent', put: 1 }]);
        await settle();
        const group = [0, 1, 2].map((i) => store.commit([{ key: `g${i}`, expect: 'absent', put: i }]));
        fail(mode);
        release();
        await blocker.catch(() => {});
        const outcomes = await Promise.allSettled(group);
        if (shown) {
          expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
          for (const [i, o] of outcomes.entries()) expect((await store.get(`g${i}`))?.version).toBe((o as PromiseFulfilledResult<Record<string, string>>).value[`g${i}`]);
        } else {
          for (const o of outcomes) {
            expect((o as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
            expect((o as PromiseRejectedResult).reason.outcome).toBe('unknown');
          }
          expect(store.problem?.()).toMatch(/LevelDB write failed/);
        }
        await store.close();
      });
    }
  });
});
