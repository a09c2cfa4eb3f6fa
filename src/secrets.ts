// Agent secrets and tokens. Secrets are high-entropy random strings, so a SHA-256 hash is enough
// to store them; comparisons run in constant time. node:crypto's hash is synchronous (Workers have
// it with nodejs_compat): no thread-pool round trip per request, and no reordering of concurrent
// requests by when their hashes happen to finish.
import { hash } from 'node:crypto';

export const randomId = (): string => globalThis.crypto.randomUUID();

/**
 * 32 random bytes, base64url: what agents must present, and what the server generates. Drawn from a
 * pool filled 4 KiB at a time, as Node's randomUUID does: one getRandomValues call per secret was
 * about a tenth of a registration's CPU (issue 13). Each byte is used once and zeroed once used.
 */
export function randomSecret(): string {
  if (secretPoolAt + SECRET_BYTES > secretPool.length) {
    globalThis.crypto.getRandomValues(secretPool);
    secretPoolAt = 0;
  }
  const bytes = secretPool.subarray(secretPoolAt, secretPoolAt + SECRET_BYTES);
  secretPoolAt += SECRET_BYTES;
  const secret = base64url(bytes);
  bytes.fill(0);
  return secret;
}
const SECRET_BYTES = 32;
const secretPool = new Uint8Array(128 * SECRET_BYTES);
let secretPoolAt = secretPool.length;

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

/** One-shot (no Hash object per call): a heartbeat hashes the secret it presents (issue 13). */
export function hashSecret(secret: string): string {
  return `sha256:${hash('sha256', secret, 'base64url')}`;
}

/**
 * Compares without an early exit, so the time taken does not tell how much matched. Two strings are
 * equal exactly when their UTF-16 code units are, so those are compared as they are, with no encoding
 * into bytes first (twice per credential checked, on every request).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  // Past the end of the shorter string charCodeAt gives NaN, which `^` takes as 0; the lengths differ then anyway.
  for (let i = 0; i < n; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
