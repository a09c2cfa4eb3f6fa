// Opaque list cursors: base64url JSON, so adapters can carry structured positions
// (a shard and a key, say) without callers depending on their shape.
//
// A cursor comes back from callers (an operator's ?cursor=), so it is checked before any of it reaches
// a backend, which would refuse a key past its own limits (DynamoDB's 1,024-byte sort key, Firestore's
// 1,500-byte document id) as a server error. Whatever is wrong with it is an InvalidCursorError.
import { InvalidCursorError, STORE_LIMITS, byteLength } from '../../src/store.ts';

/**
 * The longest string a position may hold, in UTF-8 bytes: a key at the key limit as an adapter stores
 * it (Firestore's escaped document ids are at most twice the key, ZooKeeper's base64url node names 4/3
 * of it, DynamoDB's partition names the key's first segment and 3 more bytes).
 */
export const MAX_CURSOR_STRING_BYTES = 2 * STORE_LIMITS.keyBytes;

/**
 * The longest cursor, in characters: a position of two such strings, each JSON-escaped (up to 6
 * characters a byte), in base64url (4 characters for 3 bytes). Checked before decoding anything.
 */
export const MAX_CURSOR_LENGTH = 32 * STORE_LIMITS.keyBytes;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** The position a cursor holds, if `isValid` accepts it; InvalidCursorError otherwise. */
export function decodeCursor<T>(cursor: string, isValid: (p: unknown) => p is T): T {
  if (typeof cursor !== 'string' || !BASE64URL.test(cursor)) throw new InvalidCursorError('malformed list cursor: not base64url');
  if (cursor.length > MAX_CURSOR_LENGTH) {
    throw new InvalidCursorError(`list cursor is ${cursor.length} characters; no cursor is longer than ${MAX_CURSOR_LENGTH}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(cursor, 'base64url')));
  } catch {
    throw new InvalidCursorError('malformed list cursor');
  }
  const long = longestString(parsed);
  if (long > MAX_CURSOR_STRING_BYTES) {
    throw new InvalidCursorError(`list cursor names a key of ${long} bytes; keys are at most ${STORE_LIMITS.keyBytes}`);
  }
  if (!isValid(parsed)) throw new InvalidCursorError('malformed list cursor');
  return parsed;
}

/** The UTF-8 length of the longest string anywhere in a parsed JSON value. */
function longestString(value: unknown): number {
  if (typeof value === 'string') return byteLength(value);
  if (typeof value !== 'object' || value === null) return 0;
  let longest = 0;
  for (const [k, v] of Object.entries(value)) longest = Math.max(longest, byteLength(k), longestString(v));
  return longest;
}

/** Whether a string from a position can be a store key: at most the key limit. */
export const isCursorKey = (s: unknown): s is string => typeof s === 'string' && byteLength(s) <= STORE_LIMITS.keyBytes;

/** The common cursor: resume after this key. */
export const isAfterKey = (p: unknown): p is { after: string } =>
  typeof p === 'object' && p !== null && typeof (p as { after?: unknown }).after === 'string';
