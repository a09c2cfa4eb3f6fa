// Requests written straight onto node-zookeeper-client's connection (the pinned 1.1.3's internals:
// ConnectionManager.queue, its queues and reply reader, jute). protocol.ts says why; this file is
// the only one that touches them.
import { Exception, type Client, type WireRequest, type WireResponse } from 'node-zookeeper-client';
import jute from 'node-zookeeper-client/lib/jute/index.js';

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

/** Queues one request and waits for its answer, at most `timeoutMs`. */
export function send(client: Client, request: WireRequest, timeoutMs: number): Promise<WireResponse> {
  const connection = client.connectionManager;
  return new Promise((resolve, reject) => {
    let queued = false;
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      // Still waiting for a connection: take it back so it is never sent later.
      const waiting = connection.packetQueue.queue.findIndex((p) => p.request === request);
      if (waiting >= 0) connection.packetQueue.queue.splice(waiting, 1);
      reject(new ZooKeeperError(Exception.OPERATION_TIMEOUT, waiting < 0, `no answer within ${timeoutMs} ms`));
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

/**
 * Queues several requests as one socket write: the client writes each request on its own (Nagle
 * off), which costs a system call and a packet apiece when a page reads many znodes.
 */
export function together<T>(client: Client, queueRequests: () => T): T {
  const socket = client.connectionManager.socket;
  socket?.cork();
  try {
    return queueRequests();
  } finally {
    socket?.uncork();
  }
}

const wantsRawReply = new WeakSet<WireRequest>();
const rawReplies = new WeakMap<WireRequest, Buffer>();

/**
 * Hands the client one reply at a time, keeping the raw reply of disguised requests. Given a socket
 * chunk holding many replies, the client copies the rest of the chunk after each one it reads
 * (quadratic: gigabytes copied in a 100,000-record scan). Call before `connect()`: the client binds
 * its reply reader to each new socket.
 */
export function frameReplies(client: Client): void {
  const connection = client.connectionManager;
  const readReply = connection.onSocketData;
  let socket: unknown;
  let rest = Buffer.alloc(0);
  connection.onSocketData = function onSocketData(chunk: Buffer) {
    if (connection.socket !== socket) {
      socket = connection.socket; // a new connection: nothing carries over
      rest = Buffer.alloc(0);
    }
    let buffer = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    while (buffer.length >= 4 && buffer.length >= 4 + buffer.readInt32BE(0)) {
      const reply = buffer.subarray(0, 4 + buffer.readInt32BE(0));
      buffer = buffer.subarray(reply.length);
      // Replies come in request order; the oldest request waiting is the one this answers.
      const waiting = connection.pendingQueue[0]?.request;
      if (waiting && wantsRawReply.has(waiting) && reply.length >= 8 && reply.readInt32BE(4) === waiting.header?.xid) {
        rawReplies.set(waiting, reply);
      }
      readReply.call(connection, reply);
    }
    rest = Buffer.from(buffer);
  };
}

/**
 * A request of a type the client cannot read the reply of (it drops the connection on an unknown
 * reply type): it goes out as `type` but is filed as a DELETE, whose reply has no body to read.
 * With `raw`, the reply's bytes are kept for `rawReply` (frameReplies must be installed).
 */
export function disguised(type: number, body: Buffer, raw = false): WireRequest {
  const filed = jute.OP_CODES.DELETE;
  const header = new jute.protocol.RequestHeader();
  header.type = filed;
  const payload = {
    byteLength: () => body.length,
    serialize(buffer: Buffer, offset: number) {
      body.copy(buffer, offset);
      return body.length;
    },
    setChrootPath() {},
  };
  const request = new jute.Request(header, payload);
  request.toBuffer = function toBuffer(this: WireRequest) {
    header.type = type;
    try {
      return jute.Request.prototype.toBuffer.call(this);
    } finally {
      header.type = filed;
    }
  };
  if (raw) wantsRawReply.add(request);
  return request;
}

/** The body of a disguised request's reply (after the 4-byte length and the 16-byte reply header). */
export function rawReply(request: WireRequest): Buffer {
  const reply = rawReplies.get(request);
  if (!reply) throw new Error('ZooKeeper reply not captured: frameReplies() was not installed on this client');
  return reply.subarray(20);
}
