// The one store conformance suite (DESIGN.md, "The store contract"). Every adapter registers
// itself with a few lines in test/conformance/<adapter>.test.ts and must pass all of it.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConflictError, InvalidCursorError, STORE_LIMITS, StoreLimitError, StoreUnavailableError, isCheck, isDelete, listAll,
  type Item, type Store, type Version, type Write,
} from '../../src/store.ts';
import type { FaultInjector, FaultMode } from './faults.ts';

export interface StoreHandle {
  store: Store;
  /** Durable stores: a new handle on the same data, opened after `store.close()`. */
  reopen?(): Promise<Store>;
  /**
   * Transient failures of the next write the adapter sends to its backend: 'before' fails it unsent,
   * 'after' lets the backend apply it and then fails the response (a timeout after success). Counts
   * the faults that actually fired (faults.ts).
   */
  faults?: FaultInjector;
  /** Frees what open() made (a table, a folder, a path). */
  dispose?(): Promise<void>;
}

export interface StoreHarness {
  /** Why this adapter cannot be tested on this machine; every case then shows as skipped, with the reason. */
  skip?: string;
  /** A fresh, empty store: its own table, collection, folder or path. */
  open(): Promise<StoreHandle>;
  /** Loads many records quickly for the full-scan test; may bypass the contract. */
  bulkLoad?(handle: StoreHandle, items: { key: string; value: unknown }[]): Promise<void>;
  /** Multiplies test timeouts for slow backends. */
  slowness?: number;
  /** Every handle can `reopen()` its data: the durability cases run (else they are skipped). */
  durable?: boolean;
  /** Every handle has `faults`: the transient-failure cases run (else they are skipped). */
  faultInjection?: {
    /**
     * What a commit whose write failed before it was sent must end in: 'not-applied' where the adapter
     * can tell the write never left, 'resolved' where it resends it by itself. Unset: the contract's
     * minimum (no conflict, nothing applied unless it succeeds).
     */
    unsent?: 'not-applied' | 'resolved';
    /** A commit of checks only sends no write to the backend (it checks by reading): nothing to fail there. */
    checksOnlyRead?: boolean;
  };
}

const expectConflict = async (p: Promise<unknown>, key: string) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, `expected a conflict on ${key}`).toBeInstanceOf(ConflictError);
  expect((err as ConflictError).key).toBe(key);
};

const expectLimit = async (p: Promise<unknown>) => {
  await expect(p).rejects.toBeInstanceOf(StoreLimitError);
};

const put = (key: string, value: unknown, expect: string = 'any'): Write => ({ key, expect, put: value });

/** Runs a list to the end with a given page size, collecting every key it returns. */
async function scan(store: Store, prefix: string, limit: number, between?: () => Promise<void>) {
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page: { items: Item<unknown>[]; cursor?: string } = await store.list(prefix, { cursor, limit });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    for (const item of page.items) keys.push(item.key);
    cursor = page.cursor;
    pages++;
    if (between) await between();
  } while (cursor !== undefined);
  return { keys, pages };
}

async function load(store: Store, items: { key: string; value: unknown }[], parallel = 8) {
  const batches: Write[][] = [];
  for (let i = 0; i < items.length; i += STORE_LIMITS.writesPerCommit) {
    batches.push(items.slice(i, i + STORE_LIMITS.writesPerCommit).map(({ key, value }) => put(key, value, 'absent')));
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < batches.length) await store.commit(batches[next++]!);
    }),
  );
}

const pad = (n: number) => String(n).padStart(6, '0');

/** A commit run with a fault armed; `version` gives the current version of a seeded key. */
interface FaultedCommit {
  what: string;
  writes(version: (key: string) => Version): Write[];
}

/** Keys seeded before the faulted commits; each is changed by one commit at most, but 'check' is only checked. */
const FAULT_SEEDS = ['put', 'deleted', 'any-deleted', 'any-put', 'deleted-with', 'check', 'patched', 'patched-with'];

const FAULTED_COMMITS: FaultedCommit[] = [
  { what: 'a put on its version', writes: (v) => [put('put', 1, v('put'))] },
  { what: "an 'absent' create", writes: () => [put('new/1', 1, 'absent')] },
  { what: 'two creates', writes: () => [put('new/2', 2, 'absent'), put('new/3', 3, 'absent')] },
  { what: 'a delete on its version', writes: (v) => [{ key: 'deleted', expect: v('deleted'), delete: true }] },
  { what: "an 'any' delete", writes: () => [{ key: 'any-deleted', expect: 'any', delete: true }] },
  { what: "an 'any' put", writes: () => [put('any-put', 2, 'any')] },
  { what: 'a delete and a create', writes: (v) => [{ key: 'deleted-with', expect: v('deleted-with'), delete: true }, put('new/4', 4, 'absent')] },
  { what: 'a check and a create', writes: (v) => [{ key: 'check', expect: v('check'), check: true }, put('new/5', 5, 'absent')] },
  { what: 'a patch on its version', writes: (v) => [{ key: 'patched', expect: v('patched'), patch: { n: 1 } }] },
  { what: 'a patch and a create', writes: (v) => [{ key: 'patched-with', expect: v('patched-with'), patch: { n: 2 } }, put('new/6', 6, 'absent')] },
];

const CHECK_ONLY_COMMITS: FaultedCommit[] = [
  { what: 'a check on a version', writes: (v) => [{ key: 'check', expect: v('check'), check: true }] },
  { what: "an 'absent' check and a check on a version", writes: (v) => [{ key: 'missing', expect: 'absent', check: true }, { key: 'check', expect: v('check'), check: true }] },
];

/** Opens stores from a harness and, registered in a describe, closes and disposes them after each test. */
export function openedStores(harness: StoreHarness) {
  const handles: StoreHandle[] = [];
  return {
    handles,
    async open() {
      const handle = await harness.open();
      handles.push(handle);
      return handle;
    },
    closeAfterEach() {
      afterEach(async () => {
        for (const h of handles.splice(0)) {
          await h.store.close().catch(() => {});
          await h.dispose?.();
        }
      });
    },
  };
}

/** The suite's describe for an adapter: skipped, with the reason in its name, when the harness says why. */
export function describeAdapter(title: string, harness: StoreHarness) {
  return harness.skip === undefined ? { title, describe } : { title: `${title} (SKIPPED: ${harness.skip})`, describe: describe.skip };
}

export function testStore(name: string, harness: StoreHarness): void {
  const slow = harness.slowness ?? 1;
  const { open, handles, closeAfterEach } = openedStores(harness);
  const suite = describeAdapter(`store conformance: ${name}`, harness);

  suite.describe(suite.title, { timeout: 20_000 * slow }, () => {
    closeAfterEach();

    describe('get, put, delete and versions', () => {
      it('returns undefined for a missing key', async () => {
        const { store } = await open();
        expect(await store.get('missing')).toBeUndefined();
      });

      it('returns from commit the version that the next get sees', async () => {
        const { store } = await open();
        const v = await store.commit([put('a', { n: 1 }, 'absent')]);
        expect(Object.keys(v)).toEqual(['a']);
        expect(await store.get('a')).toEqual({ key: 'a', value: { n: 1 }, version: v.a });
      });

      it('rejects a second absent create with a conflict naming the key', async () => {
        const { store } = await open();
        await store.commit([put('a', 1, 'absent')]);
        await expectConflict(store.commit([put('a', 2, 'absent')]), 'a');
        expect((await store.get('a'))?.value).toBe(1);
      });

      it('updates on the current version and refuses a stale one', async () => {
        const { store } = await open();
        const v1 = (await store.commit([put('a', 1, 'absent')])).a!;
        const v2 = (await store.commit([put('a', 2, v1)])).a!;
        expect(v2).not.toBe(v1);
        await expectConflict(store.commit([put('a', 3, v1)]), 'a');
        await expectConflict(store.commit([{ key: 'a', expect: v1, delete: true }]), 'a');
        expect(await store.get('a')).toEqual({ key: 'a', value: 2, version: v2 });
      });

      it('gives identical bytes a new version', async () => {
        const { store } = await open();
        const v1 = (await store.commit([put('a', { same: true }, 'absent')])).a!;
        const v2 = (await store.commit([put('a', { same: true }, v1)])).a!;
        expect(v2).not.toBe(v1);
        expect((await store.get('a'))?.version).toBe(v2);
        await expectConflict(store.commit([put('a', { same: true }, v1)]), 'a');
      });

      it('never lets a version from before a delete match after re-create', async () => {
        const { store } = await open();
        const old = (await store.commit([put('a', 1, 'absent')])).a!;
        await store.commit([{ key: 'a', expect: old, delete: true }]);
        expect(await store.get('a')).toBeUndefined();
        await expectConflict(store.commit([put('a', 2, old)]), 'a');
        const fresh = (await store.commit([put('a', 1, 'absent')])).a!;
        expect(fresh).not.toBe(old);
        await expectConflict(store.commit([put('a', 3, old)]), 'a');
        await expectConflict(store.commit([{ key: 'a', expect: old, delete: true }]), 'a');
        await expectConflict(store.commit([{ key: 'a', expect: old, check: true }]), 'a');
        expect(await store.get('a')).toEqual({ key: 'a', value: 1, version: fresh });
      });

      it('refuses an expected version on a missing key', async () => {
        const { store } = await open();
        const v = (await store.commit([put('other', 1, 'absent')])).other!;
        await expectConflict(store.commit([put('a', 1, v)]), 'a');
        await expectConflict(store.commit([{ key: 'a', expect: v, delete: true }]), 'a');
      });

      it("applies 'any' puts and deletes whether or not the key exists", async () => {
        const { store } = await open();
        const v1 = (await store.commit([put('a', 1, 'any')])).a!;
        const v2 = (await store.commit([put('a', 2, 'any')])).a!;
        expect(v2).not.toBe(v1);
        expect(await store.get('a')).toEqual({ key: 'a', value: 2, version: v2 });
        expect(await store.commit([{ key: 'a', expect: 'any', delete: true }])).toEqual({});
        expect(await store.get('a')).toBeUndefined();
        await store.commit([{ key: 'a', expect: 'any', delete: true }]);
        await store.commit([{ key: 'never', expect: 'any', delete: true }]);
        expect(await store.get('never')).toBeUndefined();
      });
    });

    describe('multi-key commits', () => {
      it('applies 25 mixed writes at once', async () => {
        const { store } = await open();
        const seeded = await store.commit(Array.from({ length: 10 }, (_, i) => put(`k${i}`, i, 'absent')));
        const writes: Write[] = [
          ...Array.from({ length: 5 }, (_, i): Write => put(`k${i}`, i * 10, seeded[`k${i}`]!)),
          ...Array.from({ length: 5 }, (_, i): Write => ({ key: `k${i + 5}`, expect: seeded[`k${i + 5}`]!, delete: true })),
          ...Array.from({ length: 15 }, (_, i): Write => put(`new${i}`, { i }, 'absent')),
        ];
        const versions = await store.commit(writes);
        expect(Object.keys(versions).sort()).toEqual([...Array.from({ length: 5 }, (_, i) => `k${i}`), ...Array.from({ length: 15 }, (_, i) => `new${i}`)].sort());
        expect(await store.get('k3')).toEqual({ key: 'k3', value: 30, version: versions.k3 });
        expect(await store.get('k7')).toBeUndefined();
        expect((await store.get('new14'))?.version).toBe(versions.new14);
      });

      it('rejects 25 mixed writes whose last expectation is wrong, naming it, with nothing visible', async () => {
        const { store } = await open();
        const seeded = await store.commit(Array.from({ length: 10 }, (_, i) => put(`k${i}`, i, 'absent')));
        const before = await Promise.all(Array.from({ length: 10 }, (_, i) => store.get(`k${i}`)));
        const writes: Write[] = [
          ...Array.from({ length: 5 }, (_, i): Write => put(`k${i}`, 'changed', seeded[`k${i}`]!)),
          ...Array.from({ length: 4 }, (_, i): Write => ({ key: `k${i + 5}`, expect: seeded[`k${i + 5}`]!, delete: true })),
          ...Array.from({ length: 15 }, (_, i): Write => put(`new${i}`, i, 'absent')),
          put('k9', 'changed', seeded.k0!), // the wrong one: k0's version for k9
        ];
        expect(writes).toHaveLength(25);
        await expectConflict(store.commit(writes), 'k9');
        expect(await Promise.all(Array.from({ length: 10 }, (_, i) => store.get(`k${i}`)))).toEqual(before);
        for (let i = 0; i < 15; i++) expect(await store.get(`new${i}`)).toBeUndefined();
      });

      it('fences with check writes: they write nothing, and a stale one blocks the commit', async () => {
        const { store } = await open();
        const fence = (await store.commit([put('master', { epoch: 1 }, 'absent')])).master!;
        const applied = await store.commit([{ key: 'master', expect: fence, check: true }, put('agent', 'marked', 'absent')]);
        expect(Object.keys(applied)).toEqual(['agent']);
        expect((await store.get('master'))?.version).toBe(fence);
        const moved = (await store.commit([put('master', { epoch: 2 }, fence)])).master!;
        await expectConflict(store.commit([put('agent', 'stale', applied.agent!), { key: 'master', expect: fence, check: true }]), 'master');
        expect((await store.get('agent'))?.value).toBe('marked');
        await store.commit([{ key: 'master', expect: moved, check: true }, put('agent', 'fresh', applied.agent!)]);
        expect((await store.get('agent'))?.value).toBe('fresh');
      });

      it("checks 'absent': passes on a missing key, blocks on an existing one", async () => {
        const { store } = await open();
        await store.commit([{ key: 'lock', expect: 'absent', check: true }, put('x', 1, 'absent')]);
        expect(await store.get('lock')).toBeUndefined();
        await store.commit([put('lock', 1, 'absent')]);
        await expectConflict(store.commit([put('y', 1, 'absent'), { key: 'lock', expect: 'absent', check: true }]), 'lock');
        expect(await store.get('y')).toBeUndefined();
      });
    });

    describe('patches', () => {
      const record = { id: 'a', lastSeenAt: 1, events: [{ at: 1, type: 'admitted' }], nested: { keep: true } };

      it('sets the fields it names, keeps the others, and returns the version the next get and list see', async () => {
        const { store } = await open();
        const v1 = (await store.commit([put('agents/a', record, 'absent')]))['agents/a']!;
        const v2 = (await store.commit([{ key: 'agents/a', expect: v1, patch: { lastSeenAt: 2, lastRequestId: 'r2' } }]))['agents/a']!;
        expect(v2).not.toBe(v1);
        const merged = { ...record, lastSeenAt: 2, lastRequestId: 'r2' };
        expect(await store.get('agents/a')).toEqual({ key: 'agents/a', value: merged, version: v2 });
        expect((await store.list('agents/')).items).toEqual([{ key: 'agents/a', value: merged, version: v2 }]);
        // A second patch of another field keeps the first one's.
        const v3 = (await store.commit([{ key: 'agents/a', expect: v2, patch: { lastSeenAt: 3 } }]))['agents/a']!;
        expect((await store.get('agents/a'))).toEqual({ key: 'agents/a', value: { ...merged, lastSeenAt: 3 }, version: v3 });
      });

      it('conflicts on a stale version or a missing key, naming it, with nothing applied', async () => {
        const { store } = await open();
        const v1 = (await store.commit([put('agents/a', record, 'absent')]))['agents/a']!;
        const v2 = (await store.commit([put('agents/a', { ...record, lastSeenAt: 5 }, v1)]))['agents/a']!;
        await expectConflict(store.commit([{ key: 'agents/a', expect: v1, patch: { lastSeenAt: 9 } }]), 'agents/a');
        await expectConflict(store.commit([{ key: 'agents/b', expect: v1, patch: { lastSeenAt: 9 } }]), 'agents/b');
        expect(await store.get('agents/a')).toEqual({ key: 'agents/a', value: { ...record, lastSeenAt: 5 }, version: v2 });
        expect(await store.get('agents/b')).toBeUndefined();
        // In a commit whose other expectation fails, the patch is not applied either.
        await expectConflict(store.commit([{ key: 'agents/a', expect: v2, patch: { lastSeenAt: 9 } }, put('lock', 1, v1)]), 'lock');
        expect(await store.get('agents/a')).toEqual({ key: 'agents/a', value: { ...record, lastSeenAt: 5 }, version: v2 });
      });

      it('is replaced whole by a later put, and applies beside other writes in one commit', async () => {
        const { store } = await open();
        const v1 = (await store.commit([put('agents/a', record, 'absent')]))['agents/a']!;
        const v2 = (await store.commit([{ key: 'agents/a', expect: v1, patch: { lastSeenAt: 2, extra: 'x' } }]))['agents/a']!;
        const v3 = (await store.commit([put('agents/a', record, v2)]))['agents/a']!;
        expect(await store.get('agents/a')).toEqual({ key: 'agents/a', value: record, version: v3 });
        const versions = await store.commit([{ key: 'agents/a', expect: v3, patch: { lastSeenAt: 4 } }, put('events/1', { n: 1 }, 'absent')]);
        expect(Object.keys(versions).sort()).toEqual(['agents/a', 'events/1']);
        expect(await store.get('agents/a')).toEqual({ key: 'agents/a', value: { ...record, lastSeenAt: 4 }, version: versions['agents/a'] });
      });

      it('refuses a patch that expects absent or any, or names no field, before any I/O', async () => {
        const { store } = await open();
        await expectLimit(store.commit([{ key: 'a', expect: 'absent', patch: { x: 1 } } as unknown as Write]));
        await expectLimit(store.commit([{ key: 'a', expect: 'any', patch: { x: 1 } } as unknown as Write]));
        await expectLimit(store.commit([{ key: 'a', expect: 'v', patch: {} }]));
        await expectLimit(store.commit([{ key: 'a', expect: 'v', patch: [1] as unknown as Record<string, unknown> }]));
        expect(await store.get('a')).toBeUndefined();
      });

      it('lets exactly one of 20 concurrent patches on one version win', async () => {
        const { store } = await open();
        const v = (await store.commit([put('agents/a', record, 'absent')]))['agents/a']!;
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.commit([{ key: 'agents/a', expect: v, patch: { lastSeenAt: 100 + i } }])));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, version: r.value['agents/a'] }] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
        expect(await store.get('agents/a')).toEqual({ key: 'agents/a', value: { ...record, lastSeenAt: 100 + won[0]!.i }, version: won[0]!.version });
      });
    });

    describe('races', () => {
      it('lets exactly one of 20 concurrent commits on a just-created key win', async () => {
        const { store } = await open();
        const v = (await store.commit([put('hot', 0, 'absent')])).hot!;
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.commit([put('hot', i + 1, v)])));
        const winners = results.filter((r) => r.status === 'fulfilled');
        expect(winners).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
        const won = (winners[0] as PromiseFulfilledResult<Record<string, string>>).value.hot;
        expect((await store.get('hot'))?.version).toBe(won);
      });

      it('lets exactly one of 20 concurrent commits on an updated key win, across keys', async () => {
        const { store } = await open();
        const v0 = (await store.commit([put('hot', 0, 'absent')])).hot!;
        const v1 = (await store.commit([put('hot', 1, v0)])).hot!;
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => store.commit([put(`side${i}`, i, 'absent'), put('hot', { by: i }, v1)])),
        );
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
        expect((await store.get('hot'))?.value).toEqual({ by: winners[0] });
        for (let i = 0; i < 20; i++) expect((await store.get(`side${i}`)) !== undefined).toBe(i === winners[0]);
      });

      it("lets exactly one of 20 concurrent 'absent' creates win", async () => {
        const { store } = await open();
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.commit([put('agents/x', { by: i }, 'absent')])));
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
        expect((await store.get('agents/x'))?.value).toEqual({ by: winners[0] });
      });
    });

    describe('values and keys', () => {
      it('round-trips unicode, nested JSON and every JSON type', async () => {
        const { store } = await open();
        const values: Record<string, unknown> = {
          text: 'héllo wörld — 日本語 🚀 \u0000 "quoted" \\ back',
          nested: { a: [1, { b: [null, true, false, { c: 'd' }] }], e: { f: { g: { h: [] } } } },
          numbers: [0, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER, -0.000001],
          empty: {},
          emptyList: [],
          nothing: null,
          zero: 0,
          no: false,
          blank: '',
        };
        await store.commit(Object.entries(values).map(([k, v]) => put(k, v, 'absent')));
        for (const [k, v] of Object.entries(values)) expect((await store.get(k))?.value, k).toEqual(v);
      });

      it('keeps keys with / % _ . mixed case, é and emoji apart, and sibling prefixes apart', async () => {
        const { store } = await open();
        const keys = [
          'agent/1', 'agents/1', 'agents/2', 'agents', 'agents/', 'agents//x', 'Agents/1', 'agents/A', 'agents/a',
          'agents/%2F', 'agents/%', 'agents/_', 'agents/__x__', 'agents/.', 'agents/..', 'agents/é', 'agents/e\u0301',
          'agents/🚀', 'agents/a/b/c', 'agents/ space', 'agent', '.', '..', '__x__', '%', 'frameworks/1',
        ];
        await store.commit(keys.slice(0, 20).map((k, i) => put(k, i, 'absent')));
        await store.commit(keys.slice(20).map((k, i) => put(k, i + 20, 'absent')));
        for (const [i, k] of keys.entries()) expect((await store.get(k))?.value, k).toBe(i);
        const under = (prefix: string) => keys.filter((k) => k.startsWith(prefix)).sort();
        for (const prefix of ['agents/', 'agent/', 'agent', 'Agents/', 'agents/a', 'agents/%', 'agents/_', 'agents/.', '', 'nothing/']) {
          expect((await scan(store, prefix, 2)).keys.sort(), prefix).toEqual(under(prefix));
        }
      });

      it('accepts a value of exactly 64 KiB and refuses one byte more', async () => {
        const { store } = await open();
        const exact = 'x'.repeat(STORE_LIMITS.valueBytes - 2); // JSON adds the two quotes
        expect(new TextEncoder().encode(JSON.stringify(exact)).length).toBe(STORE_LIMITS.valueBytes);
        await store.commit([put('big', exact, 'absent')]);
        expect((await store.get('big'))?.value).toBe(exact);
        await expectLimit(store.commit([put('over', `${exact}y`, 'absent')]));
        // Counted in UTF-8 bytes: 'é' is two.
        await expectLimit(store.commit([put('over', `${'é'.repeat((STORE_LIMITS.valueBytes - 2) / 2)}y`, 'absent')]));
        expect(await store.get('over')).toBeUndefined();
      });

      it('accepts a commit of exactly 512 KiB and refuses one byte more, applying nothing', async () => {
        const { store } = await open();
        const keys = Array.from({ length: 8 }, (_, i) => `c${i}`); // 2 bytes each
        // Each value is 64 KiB − 2 bytes of JSON and each key 2 bytes: 8 × 64 KiB in all, plus `extra`.
        const body = (extra: number) => keys.map((k, i) => put(k, 'x'.repeat(STORE_LIMITS.valueBytes - 4 + (i === 0 ? extra : 0)), 'absent'));
        await store.commit(body(0));
        expect((await store.get('c7'))?.value).toHaveLength(STORE_LIMITS.valueBytes - 4);
        const { store: other } = await open();
        await expectLimit(other.commit(body(1)));
        expect(await other.get('c1')).toBeUndefined();
      });

      it('refuses more than 25 writes, a key twice, an empty key and a non-JSON value before any I/O', async () => {
        const { store } = await open();
        await expectLimit(store.commit(Array.from({ length: 26 }, (_, i) => put(`k${i}`, i, 'absent'))));
        await expectLimit(store.commit([put('a', 1, 'absent'), put('a', 2, 'any')]));
        await expectLimit(store.commit([put('a', 1, 'absent'), { key: 'a', expect: 'absent', check: true }]));
        await expectLimit(store.commit([put('', 1, 'absent')]));
        await expectLimit(store.commit([put('a', undefined, 'absent')]));
        await expectLimit(store.commit([]));
        expect(await store.get('a')).toBeUndefined();
        expect(await store.get('k0')).toBeUndefined();
      });
    });

    describe('listing', () => {
      it('pages through 10,000 records with cursors, each exactly once', { timeout: 120_000 * slow }, async () => {
        const { store } = await open();
        const items = Array.from({ length: 10_000 }, (_, i) => ({ key: `agents/${pad(i)}`, value: { i } }));
        await load(store, [...items, { key: 'agentsX', value: 0 }, { key: 'master', value: 0 }]);
        const { keys, pages } = await scan(store, 'agents/', 333);
        expect(keys).toHaveLength(10_000);
        expect(new Set(keys).size).toBe(10_000);
        expect(pages).toBeGreaterThanOrEqual(31);
        expect(keys.sort()).toEqual(items.map((i) => i.key));
      });

      it('returns every untouched key exactly once while others are deleted between pages', async () => {
        const { store } = await open();
        const all = Array.from({ length: 200 }, (_, i) => `agents/${pad(i)}`);
        const versions: Record<string, string> = {};
        for (let i = 0; i < all.length; i += 25) Object.assign(versions, await store.commit(all.slice(i, i + 25).map((k) => put(k, k, 'absent'))));
        const doomed = all.filter((_, i) => i % 3 === 0);
        let d = 0;
        const { keys } = await scan(store, 'agents/', 7, async () => {
          for (const key of doomed.slice(d, d + 5)) await store.commit([{ key, expect: versions[key]!, delete: true }]);
          d += 5;
        });
        expect(new Set(keys).size).toBe(keys.length);
        const kept = all.filter((_, i) => i % 3 !== 0);
        for (const key of kept) expect(keys, key).toContain(key);
        for (const key of keys) expect(all).toContain(key);
      });

      it('refuses a garbage cursor, and one holding a key longer than the key limit, with InvalidCursorError', async () => {
        const { store } = await open();
        await store.commit([put('agents/1', 1, 'absent'), put('agents/2', 2, 'absent'), put('agents/3', 3, 'absent')]);
        const { cursor } = await store.list('agents/', { limit: 1 });
        expect(cursor, 'a page of one of three records has a cursor').toBeDefined();
        // The adapter's own cursor (base64url JSON, adapters/shared/cursor.ts) with every string in its
        // position, the key it resumes after, made longer than any key can be.
        const tooLong = `agents/${'x'.repeat(2 * STORE_LIMITS.keyBytes)}`;
        const lengthen = (p: unknown): unknown => {
          if (typeof p === 'string') return tooLong;
          if (Array.isArray(p)) return p.map(lengthen);
          if (typeof p === 'object' && p !== null) return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, lengthen(v)]));
          return p;
        };
        const longKey = Buffer.from(JSON.stringify(lengthen(JSON.parse(Buffer.from(cursor!, 'base64url').toString('utf8')))), 'utf8').toString('base64url');
        expect(longKey.length, "the adapter's cursor names a key").toBeGreaterThan(2 * STORE_LIMITS.keyBytes);
        const refused = {
          'a cursor holding a key longer than the key limit': longKey,
          'a 5,000-character cursor': 'x'.repeat(5_000),
          'a 100,000-character cursor': 'A'.repeat(100_000),
          'a cursor that is not base64url': '!!not-a-cursor!!',
          'base64url of no JSON': Buffer.from('{"after":').toString('base64url'),
          'base64url of JSON that is no position': Buffer.from('[1,2]').toString('base64url'),
        };
        for (const [what, bad] of Object.entries(refused)) {
          for (const prefix of ['agents/', '']) {
            const err = await store.list(prefix, { cursor: bad, limit: 1 }).catch((e: unknown) => e);
            expect(err, `${what}, listing ${JSON.stringify(prefix)}`).toBeInstanceOf(InvalidCursorError);
          }
        }
        // The real cursor still works.
        await expect(store.list('agents/', { cursor })).resolves.toHaveProperty('items');
      });

      it('scans 100,000 records in full', { timeout: 600_000 * slow }, async () => {
        const handle = await open();
        const items = Array.from({ length: 100_000 }, (_, i) => ({ key: `agents/${pad(i)}`, value: { id: i, hostname: `host-${i}` } }));
        if (harness.bulkLoad) await harness.bulkLoad(handle, items);
        else await load(handle.store, items, 16);
        let count = 0;
        const seen = new Set<number>();
        for await (const item of listAll<{ id: number }>(handle.store, 'agents/')) {
          count++;
          seen.add(item.value.id);
        }
        expect(count).toBe(100_000);
        expect(seen.size).toBe(100_000);
      });
    });

    describe('transient failures', () => {
      const injection = harness.faultInjection;
      for (const mode of ['before', 'after'] as const) {
        it.skipIf(!injection)(`never turns a transient failure ${mode} the write into a conflict, and applies it at most once: puts, deletes, checks with writes`, async () => {
          await faultedCommits(await open(), mode, FAULTED_COMMITS);
        });
        // A commit of checks only is a write on most backends (it must be atomic with nothing), a read on some.
        it.skipIf(!injection || injection.checksOnlyRead)(`never turns a transient failure ${mode} a commit of checks only into a conflict`, async () => {
          await faultedCommits(await open(), mode, CHECK_ONLY_COMMITS);
        });
      }

      /** Runs each commit with a fault armed: it must fire once, and the adapter must tell only what it can prove. */
      async function faultedCommits(handle: StoreHandle, mode: FaultMode, commits: FaultedCommit[]) {
        const { store, faults } = handle;
        expect(faults, `${name}: the harness says it injects faults, but this handle has none`).toBeDefined();
        await store.commit(FAULT_SEEDS.map((key) => put(key, { seeded: key }, 'absent')));
        for (const { what, writes: build } of commits) {
          const current = new Map<string, Item<unknown> | undefined>();
          for (const key of FAULT_SEEDS) current.set(key, await store.get(key));
          const writes = build((key) => current.get(key)!.version);
          const keys = writes.map((w) => w.key);
          const before = await Promise.all(keys.map((k) => store.get(k)));
          const fired = faults!.fired();
          faults!.failNextWrite(mode);
          const outcome = await store.commit(writes).then((v) => ({ ok: v }), (e: unknown) => ({ err: e }));
          expect(faults!.fired() - fired, `${what}: the armed fault fired, once`).toBe(1);
          const after = await Promise.all(keys.map((k) => store.get(k)));
          const changed = writes.filter((w, i) => !isCheck(w) && after[i]?.version !== before[i]?.version).map((w) => w.key);
          const writing = writes.filter((w) => !isCheck(w)).map((w) => w.key);
          for (const [i, w] of writes.entries()) if (isCheck(w)) expect(after[i], `${what}: a check writes nothing`).toEqual(before[i]);
          if ('ok' in outcome) {
            // Resolved by the adapter: applied exactly once, with the versions it reported.
            expect(changed, `${what}: applied in full`).toEqual(writing);
            const putting = (w: Write) => 'put' in w || 'patch' in w;
            expect(Object.keys(outcome.ok).sort(), what).toEqual(writes.filter(putting).map((w) => w.key).sort());
            for (const [i, w] of writes.entries()) {
              if (putting(w)) expect(after[i]?.version, `${what}: ${w.key}`).toBe(outcome.ok[w.key]);
              if ('patch' in w) expect(after[i]?.value, `${what}: ${w.key} patched`).toEqual({ ...(before[i]?.value as object), ...w.patch });
              if (isDelete(w)) expect(after[i], `${what}: ${w.key} deleted`).toBeUndefined();
            }
            if (mode === 'before') expect(injection?.unsent, `${what}: resolved a write that failed unsent`).not.toBe('not-applied');
            continue;
          }
          expect(outcome.err, what).toBeInstanceOf(StoreUnavailableError);
          expect(outcome.err, what).not.toBeInstanceOf(ConflictError);
          const told = (outcome.err as StoreUnavailableError).outcome;
          if (told === 'not-applied') expect(changed, `${what}: not-applied means not applied`).toEqual([]);
          // All or nothing, even when unknown.
          expect([0, writing.length], `${what}: all or nothing`).toContain(changed.length);
          if (mode === 'before') {
            expect(changed, `${what}: failed before it was sent, so nothing applied`).toEqual([]);
            expect(injection?.unsent, `${what}: the adapter resends a write that failed unsent`).not.toBe('resolved');
            if (injection?.unsent === 'not-applied') expect(told, `${what}: the adapter knows the write never left`).toBe('not-applied');
          }
        }
      }
    });

    describe('durability', () => {
      it.skipIf(!harness.durable)('keeps every record across close and reopen', async () => {
        const handle = await open();
        expect(handle.reopen, `${name}: the harness says its stores are durable, but this handle cannot reopen`).toBeDefined();
        const versions = await handle.store.commit([put('agents/1', { a: 1 }, 'absent'), put('master', { epoch: 7 }, 'absent')]);
        await handle.store.close();
        const again = await handle.reopen!();
        handles.push({ store: again });
        expect(await again.get('agents/1')).toEqual({ key: 'agents/1', value: { a: 1 }, version: versions['agents/1'] });
        await again.commit([put('master', { epoch: 8 }, versions.master!)]);
        expect((await again.get('master'))?.value).toEqual({ epoch: 8 });
      });
    });
  });
}
