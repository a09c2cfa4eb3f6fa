import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hashSecret, randomSecret, SECRET_PATTERN } from './secrets.ts';

describe('constantTimeEqual', () => {
  it('agrees with === whatever the lengths and characters', () => {
    const strings = ['', 'a', 'ab', 'abc', 'abd', '\u0000', 'x\u0000', 'é', 'e\u0301', '😀', '😁', randomSecret()];
    for (const a of strings) for (const b of strings) expect(constantTimeEqual(a, b)).toBe(a === b);
  });
});

describe('hashSecret', () => {
  it('is the SHA-256 of the UTF-8 secret, base64url, tagged sha256:', () => {
    for (const secret of ['', randomSecret(), 'é😀']) {
      expect(hashSecret(secret)).toBe(`sha256:${createHash('sha256').update(secret, 'utf8').digest('base64url')}`);
    }
  });
});

describe('randomSecret', () => {
  it('gives 32 fresh random bytes each time, across refills of its pool', () => {
    const secrets = Array.from({ length: 1_000 }, randomSecret);
    expect(new Set(secrets).size).toBe(secrets.length);
    for (const secret of secrets) {
      expect(secret).toMatch(SECRET_PATTERN);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    }
    // Random bytes: over 32,000 of them every value turns up, none far more often than the others.
    const seen = new Array<number>(256).fill(0);
    for (const secret of secrets) for (const b of Buffer.from(secret, 'base64url')) seen[b]!++;
    expect(Math.min(...seen)).toBeGreaterThan(60);
    expect(Math.max(...seen)).toBeLessThan(200);
  });
});
