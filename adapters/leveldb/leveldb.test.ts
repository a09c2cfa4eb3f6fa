import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store.ts';
import { createLevelDbStore } from './index.ts';

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
});
