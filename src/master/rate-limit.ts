// Registrations per join-token label, as a token bucket per label in this instance: a leaked or
// misused join token cannot flood the registry faster than its label's rate (429 with Retry-After).
// Each instance keeps its own buckets, so N instances admit up to N times the rate: a bound, not a quota.
import type { Clock } from '../clock.ts';

export interface Rate {
  count: number;
  per: number;
}

export function rateLimiter(rate: Rate, clock: Clock) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = rate.count / rate.per; // tokens per ms
  return {
    /** Takes one token for `key`; when none is left, how many ms until one is. */
    take(key: string): { ok: true } | { ok: false; retryAfterMs: number } {
      const now = clock.now();
      const bucket = buckets.get(key) ?? { tokens: rate.count, at: now };
      bucket.tokens = Math.min(rate.count, bucket.tokens + (now - bucket.at) * refill);
      bucket.at = now;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / refill) };
    },
  };
}
