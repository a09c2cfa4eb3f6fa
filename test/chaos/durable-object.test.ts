// The chaos runs' bridge to the Durable Object (./durable-object.ts): the store's errors come back
// as the same classes with the same meaning, and a lost answer is an outage of the right outcome.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConflictError, InvalidCursorError, StoreLimitError, StoreUnavailableError, type Store } from '../../src/store.ts';
import { startDurableObjectStore } from './durable-object.ts';

let store: Store;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ store, stop } = await startDurableObjectStore('bridge'));
}, 60_000);
afterAll(() => stop());

it('runs the real store in the object: versions, gets, pages', async () => {
  const versions = await store.commit([{ key: 'k/a', expect: 'absent', put: { n: 1 } }, { key: 'k/b', expect: 'absent', put: { n: 2 } }]);
  expect(await store.get('k/a')).toEqual({ key: 'k/a', value: { n: 1 }, version: versions['k/a'] });
  expect(await store.get('k/none')).toBeUndefined();
  const first = await store.list('k/', { limit: 1 });
  expect(first.items.map((i) => i.key)).toEqual(['k/a']);
  expect((await store.list('k/', { cursor: first.cursor })).items.map((i) => i.key)).toEqual(['k/b']);
});

it('keeps each error its meaning across the bridge', async () => {
  const conflict = await store.commit([{ key: 'k/a', expect: 'absent', put: 1 }]).catch((e) => e);
  expect(conflict).toBeInstanceOf(ConflictError);
  expect(conflict.key).toBe('k/a');
  await expect(store.list('k/', { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
  const tooMany = Array.from({ length: 26 }, (_, i) => ({ key: `k/${i}`, expect: 'any' as const, put: i }));
  const limit = await store.commit(tooMany).catch((e) => e);
  expect(limit).toBeInstanceOf(StoreLimitError);
  expect(limit).not.toBeInstanceOf(InvalidCursorError);
});

it('a lost answer is unavailable: a commit of unknown outcome, a read not applied', async () => {
  const { store: lost, stop: stopLost } = await startDurableObjectStore('lost');
  await stopLost();
  const commit = await lost.commit([{ key: 'x', expect: 'any', put: 1 }]).catch((e) => e);
  expect(commit).toBeInstanceOf(StoreUnavailableError);
  expect(commit.outcome).toBe('unknown');
  const read = await lost.get('x').catch((e) => e);
  expect(read).toBeInstanceOf(StoreUnavailableError);
  expect(read.outcome).toBe('not-applied');
}, 60_000);
