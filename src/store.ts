// The store contract (DESIGN.md, "The store contract"). Adapters import only this file,
// adapters/shared and their own SDK.

/** Opaque; new on every write; never reused for a key, even after delete + re-create. */
export type Version = string;

export interface Item<T> {
  key: string;
  value: T;
  version: Version;
}

export type PutWrite = { key: string; expect: Version | 'absent' | 'any'; put: unknown };
export type DeleteWrite = { key: string; expect: Version | 'any'; delete: true };
/** A condition only: writes nothing (fencing). */
export type CheckWrite = { key: string; expect: Version | 'absent'; check: true };
/**
 * Sets top-level fields of an existing object value, leaving the others as they are, at an expected
 * version: the write a field or two needs without reading the whole value first. Where the backend
 * can, it changes the fields in place (DynamoDB); elsewhere the adapter reads and puts the merged value.
 */
export type PatchWrite = { key: string; expect: Version; patch: Record<string, unknown> };
export type Write = PutWrite | DeleteWrite | CheckWrite | PatchWrite;

export interface ListOptions {
  cursor?: string;
  limit?: number;
}

export interface Page<T> {
  items: Item<T>[];
  cursor?: string;
}

export interface Store {
  get<T>(key: string): Promise<Item<T> | undefined>;
  /** Every item under a prefix exactly once across pages; a page may be short or empty while a cursor comes back. */
  list<T>(prefix: string, opts?: ListOptions): Promise<Page<T>>;
  /** All or nothing; resolves to the versions of the keys it put. */
  commit(writes: Write[]): Promise<Record<string, Version>>;
  close(): Promise<void>;
  /** Why the store cannot be trusted with writes any more (until the process restarts), if it cannot. */
  problem?(): string | undefined;
}

export const STORE_LIMITS = {
  writesPerCommit: 25,
  valueBytes: 64 * 1024,
  commitBytes: 512 * 1024,
  keyBytes: 512,
  listLimit: 1000,
} as const;

/** A failed expectation: the whole commit was rejected and nothing applied. */
export class ConflictError extends Error {
  override name = 'ConflictError';
  readonly key: string;
  constructor(key: string, message = `conflict on ${JSON.stringify(key)}`) {
    super(message);
    this.key = key;
  }
}

/**
 * The store could not be reached or answered with a transient error. `outcome: 'unknown'`
 * means a write may have been applied; 'not-applied' means it certainly was not.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly outcome: 'not-applied' | 'unknown';
  constructor(message: string, opts: { outcome?: 'not-applied' | 'unknown'; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.outcome = opts.outcome ?? 'not-applied';
  }
}

/** A commit beyond the contract's limits or malformed: never retryable, nothing was sent. */
export class StoreLimitError extends Error {
  override name = 'StoreLimitError';
}

/**
 * A list cursor that the store did not make: garbage, truncated, from another adapter, or holding a
 * key longer than the key limit allows. Never retryable, nothing was sent: the caller's fault.
 */
export class InvalidCursorError extends StoreLimitError {
  override name = 'InvalidCursorError';
}

export const isPut = (w: Write): w is PutWrite => 'put' in w;
export const isDelete = (w: Write): w is DeleteWrite => 'delete' in w;
export const isCheck = (w: Write): w is CheckWrite => 'check' in w;
export const isPatch = (w: Write): w is PatchWrite => 'patch' in w;

const utf8 = new TextEncoder();
/**
 * A string's length in UTF-8, as stored (a lone surrogate counts as the 3 bytes of U+FFFD). Node's
 * Buffer counts without encoding: every commit sizes each key and value, and encoding a 1 KB record
 * only to count it cost about 0.7 µs a value (issue 13). Elsewhere (a Worker without Node's APIs) it encodes.
 */
const nodeBuffer = (globalThis as { Buffer?: { byteLength(s: string, encoding: 'utf8'): number } }).Buffer;
export const byteLength: (s: string) => number = nodeBuffer ? (s) => nodeBuffer.byteLength(s, 'utf8') : (s) => utf8.encode(s).length;

/** Whether a write's expectation holds against the key's current version (undefined: no such key). */
export const expectationHolds = (expect: Write['expect'], current: Version | undefined): boolean =>
  expect === 'any' || (expect === 'absent' ? current === undefined : current === expect);

/** A commit after validation: each put's value (and each patch) already serialized once. */
export interface PreparedWrite {
  write: Write;
  /** JSON of the value, for puts; of the fields, for patches. */
  json?: string;
}

/**
 * Checks a commit against the contract's limits before any I/O and serializes each value once.
 * Throws StoreLimitError; never touches the store.
 */
export function prepareCommit(writes: Write[]): PreparedWrite[] {
  if (!Array.isArray(writes) || writes.length === 0) throw new StoreLimitError('a commit needs at least one write');
  if (writes.length > STORE_LIMITS.writesPerCommit) {
    throw new StoreLimitError(`${writes.length} writes in one commit; at most ${STORE_LIMITS.writesPerCommit}`);
  }
  const seen = new Set<string>();
  let total = 0;
  const prepared = writes.map((write): PreparedWrite => {
    assertKey(write.key);
    if (seen.has(write.key)) throw new StoreLimitError(`key ${JSON.stringify(write.key)} appears twice in one commit`);
    seen.add(write.key);
    const kinds = Number('put' in write) + Number('delete' in write) + Number('check' in write) + Number('patch' in write);
    if (kinds !== 1) throw new StoreLimitError(`write to ${JSON.stringify(write.key)} must be exactly one of put, delete, check, patch`);
    assertExpect(write);
    total += byteLength(write.key);
    if (isPatch(write)) assertPatch(write);
    else if (!isPut(write)) return { write };
    const json = JSON.stringify(isPatch(write) ? write.patch : write.put);
    if (json === undefined) throw new StoreLimitError(`value for ${JSON.stringify(write.key)} is not JSON`);
    const size = byteLength(json);
    if (size > STORE_LIMITS.valueBytes) {
      throw new StoreLimitError(`value for ${JSON.stringify(write.key)} is ${size} bytes; at most ${STORE_LIMITS.valueBytes}`);
    }
    total += size;
    return { write, json };
  });
  if (total > STORE_LIMITS.commitBytes) {
    throw new StoreLimitError(`commit is ${total} bytes; at most ${STORE_LIMITS.commitBytes}`);
  }
  return prepared;
}

function assertExpect(write: Write): void {
  const { expect } = write;
  if (typeof expect !== 'string' || expect === '') throw new StoreLimitError(`write to ${JSON.stringify(write.key)} has no expectation`);
  if (isDelete(write) && expect === 'absent') throw new StoreLimitError('a delete cannot expect absent');
  if (isCheck(write) && expect === 'any') throw new StoreLimitError('a check cannot expect any');
  if (isPatch(write) && (expect === 'any' || expect === 'absent')) throw new StoreLimitError('a patch expects a version: it changes a value that exists');
}

function assertPatch({ key, patch }: PatchWrite): void {
  const plain = typeof patch === 'object' && patch !== null && !Array.isArray(patch);
  if (!plain || Object.keys(patch).length === 0) throw new StoreLimitError(`the patch of ${JSON.stringify(key)} must be an object with at least one field`);
  for (const [field, value] of Object.entries(patch)) {
    if (field === '' || value === undefined) throw new StoreLimitError(`the patch of ${JSON.stringify(key)} has an empty field name or an undefined value`);
  }
}

/** The value a patch leaves: the fields it names replaced, the others kept. Only an object can be patched. */
export function patched(key: string, value: unknown, patch: Record<string, unknown>): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StoreLimitError(`the value of ${JSON.stringify(key)} is not an object: it cannot be patched`);
  return { ...(value as Record<string, unknown>), ...patch };
}

export function assertKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreLimitError('a key must be a non-empty string');
  if (!key.isWellFormed()) throw new StoreLimitError('a key must be well-formed unicode');
  if (byteLength(key) > STORE_LIMITS.keyBytes) throw new StoreLimitError(`key is longer than ${STORE_LIMITS.keyBytes} bytes`);
}

/** The bytes a write counts toward a commit's limit: its key and its value's JSON. */
export const writeBytes = (w: Write): number =>
  byteLength(w.key) + (isPut(w) ? byteLength(JSON.stringify(w.put) ?? '') : isPatch(w) ? byteLength(JSON.stringify(w.patch) ?? '') : 0);

/**
 * How many of the leading writes fit in one commit beside `reserved` (writes already in it, such as
 * a fence): at least one, so that a write too large on its own meets its StoreLimitError alone.
 */
export function fitCommit(writes: Write[], reserved: Write[] = []): number {
  let bytes = reserved.reduce((sum, w) => sum + writeBytes(w), 0);
  let n = 0;
  while (n < writes.length && n + reserved.length < STORE_LIMITS.writesPerCommit) {
    bytes += writeBytes(writes[n]!);
    if (bytes > STORE_LIMITS.commitBytes && n > 0) break;
    n++;
  }
  return Math.max(1, n);
}

/** Clamps a caller's page size into 1..listLimit. */
export function pageLimit(opts?: ListOptions, fallback = 100): number {
  const n = opts?.limit ?? fallback;
  if (!Number.isFinite(n) || n < 1) return 1;
  return Math.min(Math.floor(n), STORE_LIMITS.listLimit);
}

/** Reads every page of a prefix, a page at a time: a large scan then awaits once a page, not once an item. */
export async function* listPages<T>(store: Store, prefix: string, limit: number = STORE_LIMITS.listLimit): AsyncGenerator<Item<T>[]> {
  let cursor: string | undefined;
  do {
    const page = await store.list<T>(prefix, { cursor, limit });
    yield page.items;
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/** Reads every item of a prefix; for callers that need the whole set (sweeper, export). */
export async function* listAll<T>(store: Store, prefix: string, limit: number = STORE_LIMITS.listLimit): AsyncGenerator<Item<T>> {
  for await (const page of listPages<T>(store, prefix, limit)) yield* page;
}
