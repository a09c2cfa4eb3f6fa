// The requests the ZooKeeper store sends, written straight onto node-zookeeper-client's connection.
// Why not the client's own methods:
// - its Transaction turns an expected version of 0 into "any version" (`version || -1` in check,
//   setData and remove), so a compare-and-set on a just-created znode would always pass;
// - it has no `sync`, which strongly consistent reads need;
// - it never times a request out, and a multi's reply header (its zxid) is not passed on.
// Everything here relies on the internals of the pinned 1.1.3 (ConnectionManager.queue, jute).
import { Exception, type Client, type WireRequest, type WireResponse } from 'node-zookeeper-client';
import jute, { type MultiOp, type MultiResult, type Stat } from 'node-zookeeper-client/lib/jute/index.js';
import { ACL } from 'node-zookeeper-client';

export type { Stat };

const OP = jute.OP_CODES;

/** A request that failed: `code` is ZooKeeper's; `sent` is false only when it certainly never left this process. */
export class ZooKeeperError extends Error {
  override name = 'ZooKeeperError';
  readonly code: number;
  readonly sent: boolean;
  constructor(code: number, sent: boolean, message: string) {
    super(message);
    this.code = code;
    this.sent = sent;
  }
}

/** ZooKeeper's name for an error code (the client throws on codes it does not know). */
export function codeName(code: number): string {
  try {
    return Exception.create(code).name;
  } catch {
    return `error ${code}`;
  }
}

/** Connection loss, session expiry, timeouts: the store may answer if asked again. */
export const isTransient = (code: number): boolean =>
  code === Exception.CONNECTION_LOSS || code === Exception.OPERATION_TIMEOUT || code === Exception.SESSION_EXPIRED;

/** Queues one request and waits for its answer, at most `timeoutMs`. */
function send(client: Client, request: WireRequest, timeoutMs: number): Promise<WireResponse> {
  const connection = client.connectionManager;
  return new Promise((resolve, reject) => {
    let queued = false;
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      // Still waiting for a connection: take it back so it is never sent later.
      const waiting = connection.packetQueue.queue.findIndex((p) => p.request === request);
      if (waiting >= 0) connection.packetQueue.queue.splice(waiting, 1);
      reject(new ZooKeeperError(Exception.OPERATION_TIMEOUT, waiting < 0, `no answer from ZooKeeper within ${timeoutMs} ms`));
    }, timeoutMs);
    connection.queue(request, (error, response) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A callback during queue() itself means the client refused it (closed or expired): never sent.
      if (error) reject(new ZooKeeperError(error.code, queued, error.message));
      else resolve(response!);
    });
    queued = true;
  });
}

const pathRequest = (type: number, Payload: new () => { path: string; watch: boolean }, path: string): WireRequest => {
  const header = new jute.protocol.RequestHeader();
  header.type = type;
  const payload = new Payload();
  payload.path = path;
  payload.watch = false;
  return new jute.Request(header, payload);
};

/** The znode's data and stat, or undefined when it does not exist. */
export async function getData(client: Client, path: string, timeoutMs: number): Promise<{ data: Buffer; stat: Stat } | undefined> {
  try {
    const response = await send(client, pathRequest(OP.GET_DATA, jute.protocol.GetDataRequest, path), timeoutMs);
    const payload = response.payload as { data?: Buffer | null; stat: Stat };
    return { data: payload.data ?? Buffer.alloc(0), stat: payload.stat };
  } catch (error) {
    if (error instanceof ZooKeeperError && error.code === Exception.NO_NODE) return undefined;
    throw error;
  }
}

export async function exists(client: Client, path: string, timeoutMs: number): Promise<Stat | undefined> {
  try {
    const response = await send(client, pathRequest(OP.EXISTS, jute.protocol.ExistsRequest, path), timeoutMs);
    return (response.payload as { stat: Stat }).stat;
  } catch (error) {
    if (error instanceof ZooKeeperError && error.code === Exception.NO_NODE) return undefined;
    throw error;
  }
}

/** Child names, or undefined when the znode does not exist. */
export async function getChildren(client: Client, path: string, timeoutMs: number): Promise<string[] | undefined> {
  try {
    const response = await send(client, pathRequest(OP.GET_CHILDREN2, jute.protocol.GetChildren2Request, path), timeoutMs);
    return (response.payload as { children: string[] }).children;
  } catch (error) {
    if (error instanceof ZooKeeperError && error.code === Exception.NO_NODE) return undefined;
    throw error;
  }
}

/**
 * Makes the connected server catch up with the leader. ZooKeeper orders a session's requests, so
 * reads queued right after it (no need to wait) see every write committed before it was sent.
 */
export function sync(client: Client, path: string, timeoutMs: number): Promise<unknown> {
  // The client cannot parse a sync reply (it drops the connection on an unknown reply type), so the
  // request goes out as SYNC but is filed as a DELETE, whose reply carries nothing to parse.
  const header = new jute.protocol.RequestHeader();
  header.type = OP.DELETE;
  const bytes = Buffer.from(path, 'utf8');
  const payload = {
    byteLength: () => 4 + bytes.length,
    serialize(buffer: Buffer, offset: number) {
      buffer.writeInt32BE(bytes.length, offset);
      bytes.copy(buffer, offset + 4);
      return 4 + bytes.length;
    },
    setChrootPath() {},
  };
  const request = new jute.Request(header, payload);
  request.toBuffer = function toBuffer(this: WireRequest) {
    header.type = OP.SYNC;
    try {
      return jute.Request.prototype.toBuffer.call(this);
    } finally {
      header.type = OP.DELETE;
    }
  };
  return send(client, request, timeoutMs);
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

const toWire = (op: Op): MultiOp => {
  switch (op.op) {
    case 'create':
      return { type: OP.CREATE, path: op.path, data: op.data, acls: ACL.OPEN_ACL_UNSAFE, mode: 0 };
    case 'setData':
      return { type: OP.SET_DATA, path: op.path, data: op.data, version: op.version };
    case 'remove':
      return { type: OP.DELETE, path: op.path, version: op.version };
    case 'check':
      return { type: OP.CHECK, path: op.path, version: op.version };
  }
};

/** Applies all operations atomically, or none. */
export async function multi(client: Client, ops: Op[], timeoutMs: number): Promise<MultiOutcome> {
  const header = new jute.protocol.RequestHeader();
  header.type = OP.MULTI;
  const response = await send(client, new jute.Request(header, new jute.TransactionRequest(ops.map(toWire))), timeoutMs);
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
