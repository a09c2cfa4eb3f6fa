import { describe, expect, it } from 'vitest';
import { STORE_LIMITS, byteLength, fitCommit, prepareCommit, StoreLimitError, type Write } from './store.ts';

const put = (key: string, bytes: number): Write => ({ key, expect: 'any', put: 'x'.repeat(bytes - 2) });

describe('fitCommit', () => {
  it('fills a commit up to 25 writes, counting the reserved ones', () => {
    const writes = Array.from({ length: 40 }, (_, i) => put(`k${i}`, 10));
    expect(fitCommit(writes)).toBe(25);
    expect(fitCommit(writes, [{ key: 'master', expect: 'v', check: true }])).toBe(24);
  });

  it('stops before the commit would pass 512 KiB', () => {
    // Each write is 60 KiB of value plus a 2-byte key: eight fit, the ninth would not.
    const writes = Array.from({ length: 12 }, (_, i) => put(`k${i}`.padEnd(2, '_'), 60 * 1024));
    expect(fitCommit(writes)).toBe(8);
    expect(8 * (60 * 1024 + 2)).toBeLessThanOrEqual(STORE_LIMITS.commitBytes);
  });

  it('gives a write too large on its own a commit of its own', () => {
    expect(fitCommit([put('big', STORE_LIMITS.commitBytes + 10), put('small', 10)])).toBe(1);
  });
});

describe('byteLength', () => {
  const encoded = (s: string) => new TextEncoder().encode(s).length;

  it('counts UTF-8 bytes as stored, a lone surrogate as the replacement character', () => {
    for (const s of ['', 'a', 'é', '€', '😀', '\ud800', '\udc00', '\udc00\ud800', 'a\ud800\udc00b\ud800', '\u0000\u007f\u0080\u07ff\u0800\uffff']) {
      expect(byteLength(s), JSON.stringify(s)).toBe(encoded(s));
    }
  });

  it('agrees with encoding on strings of arbitrary code units', () => {
    let seed = 13;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let n = 0; n < 500; n++) {
      const units = Array.from({ length: next() % 40 }, () => (next() % 4 === 0 ? 0xd800 + (next() % 0x800) : next() % 0x10000));
      const s = String.fromCharCode(...units);
      expect(byteLength(s)).toBe(encoded(s));
    }
  });

  it('measures the values of a commit in bytes, not characters', () => {
    const chars = Math.floor((STORE_LIMITS.valueBytes - 2) / 3); // "€" is 3 bytes in UTF-8
    expect(() => prepareCommit([{ key: 'k', expect: 'any', put: '€'.repeat(chars) }])).not.toThrow();
    expect(() => prepareCommit([{ key: 'k', expect: 'any', put: '€'.repeat(chars + 1) }])).toThrow(StoreLimitError);
  });
});
