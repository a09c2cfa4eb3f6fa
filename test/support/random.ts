// Seeded randomness for simulations: one generator per run, so a failing seed replays exactly.
import type { Entropy } from '../../src/secrets.ts';
import { base64url } from '../../src/secrets.ts';

export interface Prng {
  next(): number;
  between(lo: number, hi: number): number;
  pick<T>(xs: T[]): T;
  int(n: number): number;
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): Prng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, between: (lo, hi) => lo + next() * (hi - lo), pick: (xs) => xs[int(xs.length)]! };
}

/** The registrar's ids, secrets and jitter drawn from a seeded generator. */
export function seededEntropy(random: Prng): Entropy {
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => random.int(256));
  return {
    id() {
      const b = bytes(16);
      b[6] = (b[6]! & 0x0f) | 0x40; // version 4
      b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
      const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
    secret: () => base64url(bytes(32)),
    fraction: () => random.next(),
  };
}
