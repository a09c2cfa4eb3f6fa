import { describe, expect, it } from 'vitest';
import { STORE_LIMITS, fitCommit, type Write } from './store.ts';

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
