// Agent secrets and tokens. Secrets are high-entropy random strings, so a SHA-256 hash is enough
// to store them; comparisons run in constant time. node:crypto's hash is synchronous (Workers have
// it with nodejs_compat): no thread-pool round trip per request, and no reordering of concurrent
// requests by when their hashes happen to finish.
import { createHash } from 'node:crypto';

const encoder = new TextEncoder();

export const randomId = (): string => globalThis.crypto.randomUUID();

/** 32 random bytes, base64url: what agents must present, and what the server generates. */
export function randomSecret(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(32));
  return base64url(bytes);
}

/**
 * Where the registrar's randomness comes from: ids, secrets and retry jitter. Injected like the
 * clock, so that a simulation replays the same history from a seed.
 */
export interface Entropy {
  /** A random UUID. */
  id(): string;
  /** 32 random bytes, base64url. */
  secret(): string;
  /** A number in [0, 1), for jitter. */
  fraction(): number;
}

export const systemEntropy: Entropy = { id: randomId, secret: randomSecret, fraction: Math.random };

export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43,256}$/;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('base64url')}`;
}

/** Compares without an early exit, so the time taken does not tell how much matched. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
