// Type declarations for node-zookeeper-client 1.1.3 (it ships none): only what adapters/zookeeper uses.
// `connectionManager` and the jute module are internals; adapters/zookeeper/protocol.ts is their one user.

declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';

  export interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
    /** Resume this session instead of starting one. */
    sessionId?: Buffer;
    sessionPassword?: Buffer;
  }

  export interface State {
    name: string;
    code: number;
  }

  export const State: {
    DISCONNECTED: State;
    SYNC_CONNECTED: State;
    AUTH_FAILED: State;
    CONNECTED_READ_ONLY: State;
    EXPIRED: State;
  };

  export interface ACL {
    toRecord(): unknown;
    permission: number;
    id: { scheme: string; id: string };
  }

  export const ACL: { OPEN_ACL_UNSAFE: ACL[]; CREATOR_ALL_ACL: ACL[] };

  export interface Exception extends Error {
    code: number;
    name: string;
    getCode(): number;
  }

  export const Exception: {
    create(code: number, path?: string): Exception;
    OK: 0;
    CONNECTION_LOSS: -4;
    OPERATION_TIMEOUT: -7;
    RUNTIME_INCONSISTENCY: -2;
    MARSHALLING_ERROR: -5;
    UNIMPLEMENTED: -6;
    NO_NODE: -101;
    NO_AUTH: -102;
    BAD_VERSION: -103;
    NODE_EXISTS: -110;
    SESSION_EXPIRED: -112;
    INVALID_ACL: -114;
    AUTH_FAILED: -115;
  };

  /** A request as the connection queues it (jute Request). */
  export interface WireRequest {
    header: { type: number; xid: number } | null;
    payload: unknown;
    toBuffer(): Buffer;
  }

  export interface WireResponse {
    header: { xid: number; zxid: Buffer; err: number };
    payload: unknown;
  }

  export interface Packet {
    request: WireRequest;
    callback: (error: Exception | null, response?: WireResponse) => void;
  }

  /** Internal: the client's single connection and its request queues. */
  export interface ConnectionManager {
    queue(request: WireRequest, callback: Packet['callback']): void;
    /** The current connection's socket, replaced on reconnect. */
    socket?: import('node:net').Socket;
    /** Reads replies from the socket; bound to the socket on connecting. */
    onSocketData(chunk: Buffer): void;
    /** Requests not yet written to the socket. */
    packetQueue: { queue: Packet[] };
    /** Requests written, oldest first, waiting for their replies. */
    pendingQueue: Packet[];
  }

  type Callback<T = void> = (error: Exception | null, result: T) => void;

  export interface Client extends EventEmitter {
    connect(): void;
    close(): void;
    /** Sends `auth` (for digest: "user:password") now and again on every reconnect. */
    addAuthInfo(scheme: string, auth: Buffer): void;
    // The public API, used by tests only (the store sends its own requests, protocol.ts).
    getData(path: string, callback: Callback<Buffer | undefined>): void;
    setData(path: string, data: Buffer | null, version: number, callback: Callback<unknown>): void;
    create(path: string, data: Buffer | null, acls: ACL[], mode: number, callback: Callback<string>): void;
    remove(path: string, version: number, callback: Callback): void;
    getChildren(path: string, callback: Callback<string[]>): void;
    getACL(path: string, callback: Callback<ACL[]>): void;
    getState(): State;
    getSessionId(): Buffer;
    getSessionPassword(): Buffer;
    connectionManager: ConnectionManager;
  }

  export function createClient(connectionString: string, options?: ClientOptions): Client;
}

declare module 'node-zookeeper-client/lib/jute/index.js' {
  import type { WireRequest } from 'node-zookeeper-client';

  export interface Stat {
    czxid: Buffer;
    mzxid: Buffer;
    ctime: Buffer;
    mtime: Buffer;
    version: number;
    cversion: number;
    aversion: number;
    ephemeralOwner: Buffer;
    dataLength: number;
    numChildren: number;
    pzxid: Buffer;
  }

  /** One operation of a multi, in the shape TransactionRequest serializes. */
  export type MultiOp =
    | { type: 1; path: string; data: Buffer | null; acls: unknown[]; mode: number }
    | { type: 2; path: string; version: number }
    | { type: 5; path: string; data: Buffer; version: number }
    | { type: 13; path: string; version: number };

  export interface MultiResult {
    type: number;
    err?: number;
    path?: string;
    stat?: Stat;
  }

  interface PathRequest {
    path: string;
    watch: boolean;
  }

  interface Jute {
    OP_CODES: {
      CREATE: 1;
      DELETE: 2;
      EXISTS: 3;
      GET_DATA: 4;
      SET_DATA: 5;
      SYNC: 9;
      GET_CHILDREN2: 12;
      CHECK: 13;
      MULTI: 14;
      AUTH: 100;
    };
    protocol: {
      RequestHeader: new () => { type: number; xid: number };
      GetDataRequest: new () => PathRequest;
      ExistsRequest: new () => PathRequest;
      GetChildren2Request: new () => PathRequest;
    };
    Request: {
      new (header: { type: number; xid: number } | null, payload: unknown): WireRequest;
      prototype: WireRequest;
    };
    TransactionRequest: new (ops: MultiOp[]) => unknown;
  }

  const jute: Jute;
  export default jute;
}
