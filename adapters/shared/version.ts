import type { Version } from '../../src/store.ts';

/** A fresh version: random, so it is never reused for a key, even after delete and re-create. */
export const newVersion = (): Version => globalThis.crypto.randomUUID();
