import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store.ts';
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
});
