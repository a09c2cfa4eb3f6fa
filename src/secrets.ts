// Agent secrets and tokens. Secrets are high-entropy random strings, so a SHA-256 hash is enough
// to store them; comparisons run in constant time. WebCrypto only, so Workers can run it too.

const encoder = new TextEncoder();

export const randomId = (): string => globalThis.crypto.randomUUID();

/** 32 random bytes, base64url: what agents must present, and what the server generates. */
export function randomSecret(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(32));
  return base64url(bytes);
}

export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43,256}$/;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export async function hashSecret(secret: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', encoder.encode(secret));
  return `sha256:${base64url(new Uint8Array(digest))}`;
}

export async function secretMatches(secret: string, hash: string): Promise<boolean> {
  return constantTimeEqual(await hashSecret(secret), hash);
}

/** Compares without an early exit, so the time taken does not tell how much matched. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
