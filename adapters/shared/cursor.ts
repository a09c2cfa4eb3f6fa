// Opaque list cursors: base64url JSON, so adapters can carry structured positions
// (a shard and a key, say) without callers depending on their shape.
import { StoreLimitError } from '../../src/store.ts';

export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (p: unknown) => p is T): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new StoreLimitError('malformed list cursor');
  }
  if (!isValid(parsed)) throw new StoreLimitError('malformed list cursor');
  return parsed;
}

/** The common cursor: resume after this key. */
export const isAfterKey = (p: unknown): p is { after: string } =>
  typeof p === 'object' && p !== null && typeof (p as { after?: unknown }).after === 'string';
