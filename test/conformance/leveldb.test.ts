import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLevelDbStore, openLevelDb } from '../../adapters/leveldb/index.ts';
import { faultSwitch } from './faults.ts';
import { testAdapter } from './index.ts';

testAdapter('leveldb', {
  durable: true,
  // An I/O error whose batch the folder does not show may still appear after a reopen: unknown.
  faultInjection: { checksOnlyRead: true },
  async open() {
    const location = await mkdtemp(join(tmpdir(), 'registrar-leveldb-'));
    const db = await openLevelDb(location);
    const faults = faultSwitch();
    const batch = db.batch.bind(db);
    // An I/O error from LevelDB, before or after the batch reached the folder.
    db.batch = (async (...args: Parameters<typeof batch>) => {
      const mode = faults.take();
      if (mode === 'before') throw new Error('injected: IO error before write');
      await batch(...args);
      if (mode === 'after') throw new Error('injected: IO error after write');
    }) as unknown as typeof db.batch;
    return {
      store: await createLevelDbStore({ location, db }),
      reopen: () => createLevelDbStore({ location }),
      faults,
      dispose: () => rm(location, { recursive: true, force: true }),
    };
  },
});
