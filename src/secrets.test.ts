import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hashSecret, randomSecret } from './secrets.ts';

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
