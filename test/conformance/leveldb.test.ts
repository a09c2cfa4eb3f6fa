import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLevelDbStore, openLevelDb } from '../../adapters/leveldb/index.ts';
import { testAdapter } from './index.ts';

testAdapter('leveldb', {
  async open() {
    const location = await mkdtemp(join(tmpdir(), 'registrar-leveldb-'));
    const db = await openLevelDb(location);
    let fault: 'before' | 'after' | undefined;
    const batch = db.batch.bind(db);
    // An I/O error from LevelDB, before or after the batch reached the folder.
    db.batch = (async (...args: Parameters<typeof batch>) => {
      const mode = fault;
      fault = undefined;
      if (mode === 'before') throw new Error('injected: IO error before write');
      await batch(...args);
      if (mode === 'after') throw new Error('injected: IO error after write');
    }) as unknown as typeof db.batch;
    return {
      store: await createLevelDbStore({ location, db }),
      reopen: () => createLevelDbStore({ location }),
      failNextWrite: (mode) => {
        fault = mode;
      },
      dispose: () => rm(location, { recursive: true, force: true }),
    };
  },
});
