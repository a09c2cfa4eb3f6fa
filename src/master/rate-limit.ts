// Registrations per join-token label, as a token bucket per label in this instance: a leaked or
// misused join token cannot flood the registry faster than its label's rate (429 with Retry-After).
// Each instance keeps its own buckets, so N instances admit up to N times the rate: a bound, not a quota.
import type { Context } from 'hono';
import type { Clock } from '../clock.ts';
import { ApiError } from './errors.ts';

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

/**
 * The registration limit of one kind of token (`join`, `framework`): a function that takes a token for
 * the label, or answers 429 with Retry-After. Without a rate, it lets everything through.
 */
export function registrationLimit(rate: Rate | undefined, clock: Clock, kind: string) {
  const limiter = rate && rateLimiter(rate, clock);
  return (c: Context, by: string): void => {
    const taken = limiter?.take(by);
    if (!taken || taken.ok) return;
    c.header('Retry-After', String(Math.max(1, Math.ceil(taken.retryAfterMs / 1000))));
    throw new ApiError(429, 'rate_limited', `too many registrations with the ${kind} token "${by}"; retry later`);
  };
}
