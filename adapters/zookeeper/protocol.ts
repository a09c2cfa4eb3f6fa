// The ZooKeeper requests the store sends. They go straight onto the client's connection
// (connection.ts) rather than through node-zookeeper-client's own methods, because:
// - its Transaction turns an expected version of 0 into "any version" (`version || -1` in check,
//   setData and remove), so a compare-and-set on a just-created znode would always pass;
// - it has no `sync`, which strongly consistent reads need, and no `multiRead` (ZooKeeper 3.6+),
//   which reads a page of znodes in one request;
// - it never times a request out, and does not pass on a multi's zxid.
import { Exception, type ACL, type Client, type WireRequest } from 'node-zookeeper-client';
import jute, { type MultiOp, type MultiResult, type Stat } from 'node-zookeeper-client/lib/jute/index.js';
import { StoreUnavailableError } from '../../src/store.ts';
import { ZooKeeperError, disguised, rawReply, send } from './connection.ts';

export { ZooKeeperError, frameReplies, together } from './connection.ts';
export type { Stat };

const OP = jute.OP_CODES;
const MULTI_READ = 22;
const GET_CHILDREN = 8;
const ERROR = -1;

/** ZooKeeper's name for an error code (the client throws on codes it does not know). */
export function codeName(code: number): string {
  try {
    return Exception.create(code).name;
  } catch {
    return `error ${code}`;
  }
}

/** Maps a failed ZooKeeper request to the contract's error; anything else passes through. */
export function unavailable(error: unknown): unknown {
  if (error instanceof ZooKeeperError) {
    return new StoreUnavailableError(`ZooKeeper: ${error.message}`, { outcome: 'not-applied', cause: error });
  }
  return error;
}

/** Connection loss, session expiry, timeouts: the store may answer if asked again. */
export const isTransient = (code: number): boolean =>
  code === Exception.CONNECTION_LOSS || code === Exception.OPERATION_TIMEOUT || code === Exception.SESSION_EXPIRED;

const pathRequest = (type: number, Payload: new () => { path: string; watch: boolean }, path: string): WireRequest => {
  const header = new jute.protocol.RequestHeader();
  header.type = type;
  const payload = new Payload();
  payload.path = path;
  payload.watch = false;
  return new jute.Request(header, payload);
};

const orMissing = <T>(error: unknown): T | undefined => {
  if (error instanceof ZooKeeperError && error.code === Exception.NO_NODE) return undefined;
  throw error;
};

export interface Node {
  data: Buffer;
  stat: Stat;
}

/** The znode's data and stat, or undefined when it does not exist. */
export async function getData(client: Client, path: string, timeoutMs: number): Promise<Node | undefined> {
  try {
    const response = await send(client, pathRequest(OP.GET_DATA, jute.protocol.GetDataRequest, path), timeoutMs);
    const payload = response.payload as { data?: Buffer | null; stat: Stat };
    return { data: payload.data ?? Buffer.alloc(0), stat: payload.stat };
  } catch (error) {
    return orMissing(error);
  }
}

export async function exists(client: Client, path: string, timeoutMs: number): Promise<Stat | undefined> {
  try {
    const response = await send(client, pathRequest(OP.EXISTS, jute.protocol.ExistsRequest, path), timeoutMs);
    return (response.payload as { stat: Stat }).stat;
  } catch (error) {
    return orMissing(error);
  }
}

/**
 * Makes the connected server catch up with the leader. ZooKeeper orders a session's requests, so
 * reads queued right after it (no need to wait) see every write committed before it was sent.
 */
export function sync(client: Client, path: string, timeoutMs: number): Promise<unknown> {
  return send(client, disguised(OP.SYNC, new Writer().string(path).done()), timeoutMs);
}

/** Reads many znodes in one request; each result is undefined where the znode does not exist. */
export function getDataMany(client: Client, paths: string[], timeoutMs: number): Promise<(Node | undefined)[]> {
  return multiRead(client, OP.GET_DATA, paths, timeoutMs, (reader) => ({ data: reader.buffer() ?? Buffer.alloc(0), stat: reader.stat() }));
}

/** Lists the children of many znodes in one request. */
export function getChildrenMany(client: Client, paths: string[], timeoutMs: number): Promise<(string[] | undefined)[]> {
  return multiRead(client, GET_CHILDREN, paths, timeoutMs, (reader) => Array.from({ length: reader.int() }, () => reader.string()));
}

async function multiRead<T>(client: Client, type: number, paths: string[], timeoutMs: number, read: (reader: Reader) => T): Promise<(T | undefined)[]> {
  const body = new Writer();
  for (const path of paths) body.int(type).bool(false).int(-1).string(path).bool(false);
  body.int(-1).bool(true).int(-1);
  const request = disguised(MULTI_READ, body.done(), true);
  await send(client, request, timeoutMs);
  const reader = new Reader(rawReply(request));
  const results: (T | undefined)[] = [];
  for (;;) {
    const resultType = reader.int();
    const done = reader.bool();
    reader.int(); // the header's error code, repeated in an error result
    if (done) break;
    if (resultType === ERROR) {
      const code = reader.int();
      if (code !== Exception.NO_NODE) throw new ZooKeeperError(code, true, `ZooKeeper read failed: ${codeName(code)}`);
      results.push(undefined);
    } else {
      results.push(read(reader));
    }
  }
  if (results.length !== paths.length) throw new ZooKeeperError(Exception.MARSHALLING_ERROR, true, 'unexpected multiRead reply');
  return results;
}

/** Jute encoding, for the requests the client cannot build. */
class Writer {
  #parts: Buffer[] = [];
  int(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.#parts.push(b);
    return this;
  }
  bool(v: boolean): this {
    this.#parts.push(Buffer.from([v ? 1 : 0]));
    return this;
  }
  string(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    return this.int(bytes.length).raw(bytes);
  }
  raw(b: Buffer): this {
    this.#parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

/** Jute decoding, for the replies the client cannot read. */
class Reader {
  #at = 0;
  readonly #buffer: Buffer;
  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }
  int(): number {
    const n = this.#buffer.readInt32BE(this.#at);
    this.#at += 4;
    return n;
  }
  bool(): boolean {
    return this.#buffer[this.#at++] !== 0;
  }
  long(): Buffer {
    return this.bytes(8);
  }
  bytes(n: number): Buffer {
    const b = this.#buffer.subarray(this.#at, this.#at + n);
    this.#at += n;
    return b;
  }
  buffer(): Buffer | null {
    const n = this.int();
    return n < 0 ? null : this.bytes(n);
  }
  string(): string {
    return this.bytes(this.int()).toString('utf8');
  }
  stat(): Stat {
    return {
      czxid: this.long(), mzxid: this.long(), ctime: this.long(), mtime: this.long(),
      version: this.int(), cversion: this.int(), aversion: this.int(),
      ephemeralOwner: this.long(), dataLength: this.int(), numChildren: this.int(), pzxid: this.long(),
    };
  }
}

/** One operation of a multi. Versions are sent exactly as given (-1 is "any version"). */
export type Op =
  | { op: 'create'; path: string; data: Buffer | null }
  | { op: 'setData'; path: string; data: Buffer; version: number }
  | { op: 'remove'; path: string; version: number }
  | { op: 'check'; path: string; version: number };

export interface MultiOutcome {
  /** The transaction's zxid: every znode it wrote has this mzxid. */
  zxid: bigint;
  /** The first operation that failed, when the multi was rejected (then nothing was applied). */
  failure?: { index: number; code: number };
}

const toWire = (op: Op, acls: ACL[]): MultiOp => {
  switch (op.op) {
    case 'create':
      return { type: OP.CREATE, path: op.path, data: op.data, acls, mode: 0 };
    case 'setData':
      return { type: OP.SET_DATA, path: op.path, data: op.data, version: op.version };
    case 'remove':
      return { type: OP.DELETE, path: op.path, version: op.version };
    case 'check':
      return { type: OP.CHECK, path: op.path, version: op.version };
  }
};

/** Applies all operations atomically, or none. Creates give their znodes `acls` (Session#acls). */
export async function multi(client: Client, ops: Op[], acls: ACL[], timeoutMs: number): Promise<MultiOutcome> {
  const header = new jute.protocol.RequestHeader();
  header.type = OP.MULTI;
  const response = await send(client, new jute.Request(header, new jute.TransactionRequest(ops.map((op) => toWire(op, acls)))), timeoutMs);
  const zxid = response.header.zxid.readBigUInt64BE();
  const results = (response.payload as { results: MultiResult[] }).results;
  // A rejected multi answers OK for the operations before the culprit and RUNTIME_INCONSISTENCY after it.
  const failed = (r: MultiResult) => r.err !== undefined && r.err !== Exception.OK && r.err !== Exception.RUNTIME_INCONSISTENCY;
  const index = results.findIndex(failed);
  if (index >= 0) return { zxid, failure: { index, code: results[index]!.err! } };
  const other = results.findIndex((r) => r.err !== undefined && r.err !== Exception.OK);
  if (other >= 0) return { zxid, failure: { index: other, code: results[other]!.err! } };
  return { zxid };
}
