import { readFile } from 'node:fs/promises';
import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { COMMIT_FIELD, VALUE_FIELD, documentId, keyOf, recordDocument, updateTimeOf, versionOf } from './document.ts';

const keys = [
  'agents/1', 'agents/', 'agents//x', 'agents/%2F', 'agents/%', 'agents/_', 'agents/__x__', 'agents/.', 'agents/..',
  'agents/é', 'agents/e\u0301', 'agents/🚀', '.', '..', '...', '_', '__', '__x__', '%', '%p', '/', 'a%sb', ' space',
];
const utf8 = (s: string) => new TextEncoder().encode(s).length;

describe('firestore document ids', () => {
  it('round-trips every key through an id Firestore accepts', () => {
    for (const key of [...keys, '/'.repeat(512), '%'.repeat(512)]) {
      const id = documentId(key);
      expect(keyOf(id), key).toBe(key);
      expect(id).not.toContain('/');
      expect(['.', '..']).not.toContain(id);
      expect(id).not.toMatch(/^__.*__$/);
      expect(utf8(id)).toBeLessThanOrEqual(1500);
    }
  });

  it('keeps prefixes: a key is under a prefix exactly when its id starts with the prefix id', () => {
    for (const prefix of ['', 'agent', 'agents/', 'agents/a', 'agents/%', 'agents/_', 'agents/.', '_', '.', '%']) {
      for (const key of keys) expect(documentId(key).startsWith(documentId(prefix)), `${key} under ${prefix}`).toBe(key.startsWith(prefix));
    }
  });

  it('refuses ids it never writes', () => {
    for (const id of ['%', '%x', 'a%', '.', '_a', '%s%', 'a%d']) expect(keyOf(id), id).toBeUndefined();
  });
});

describe('firestore versions', () => {
  const time = new Timestamp(1_700_000_000, 123_456_000);

  it('keeps the update time at full precision', () => {
    expect(updateTimeOf('a', versionOf('a', time))?.isEqual(time)).toBe(true);
  });

  it("never takes one key's version for another's, even from the same commit", () => {
    expect(updateTimeOf('b', versionOf('a', time))).toBeUndefined();
    for (const version of ['', 'garbage', '1.2', `${versionOf('a', time)}x`]) expect(updateTimeOf('a', version)).toBeUndefined();
  });
});

describe('firestore indexes', () => {
  it('names the value field "value", beside the commit marker, and nothing else', () => {
    expect(VALUE_FIELD).toBe('value');
    expect(Object.keys(recordDocument('{"a":1}', 'c')).sort()).toEqual([COMMIT_FIELD, VALUE_FIELD].sort());
    expect(recordDocument('{"a":1}', 'c')[VALUE_FIELD]).toBe('{"a":1}');
  });

  it('exempts the record fields from single-field indexing in firestore.indexes.json', async () => {
    const config = JSON.parse(await readFile(new URL('../../firestore.indexes.json', import.meta.url), 'utf8')) as {
      indexes: unknown[];
      fieldOverrides: { collectionGroup: string; fieldPath: string; indexes: unknown[] }[];
    };
    expect(config.indexes).toEqual([]); // no composite index: list orders by document id only
    const overrides = config.fieldOverrides;
    expect(overrides.map((o) => o.fieldPath).sort()).toEqual([COMMIT_FIELD, VALUE_FIELD].sort());
    for (const override of overrides) {
      expect(override.indexes, override.fieldPath).toEqual([]); // an empty list disables every index of the field
      expect(override.collectionGroup, override.fieldPath).toMatch(/^[^/]+$/); // a collection id, as in firestore:<collection>
    }
    expect(new Set(overrides.map((o) => o.collectionGroup)).size).toBe(1);
  });
});
