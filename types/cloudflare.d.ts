// The Workers runtime modules, for the one tsconfig shared with Node: @cloudflare/workers-types
// declares them only next to its global types (Request, Response, ...), which clash with Node's.
// Only what src/worker.ts and test/workers use; the runtime objects are workerd's.

declare module 'cloudflare:workers' {
  import type { DurableObjectState } from '@cloudflare/workers-types';

  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}

// @cloudflare/vitest-plugin's helpers (its own declarations need the global Workers types).
declare module 'cloudflare:test' {
  import type { DurableObjectId, DurableObjectState, DurableObjectStub } from '@cloudflare/workers-types';

  /** A stub whose fetch takes and gives the Request and Response the rest of the code is typed with. */
  export type Stub = DurableObjectStub & { fetch(request: Request): Promise<Response> };
  export const env: { REGISTRY: { idFromName(name: string): DurableObjectId; get(id: DurableObjectId): Stub } } & Record<string, unknown>;
  export const SELF: { fetch(input: string | Request, init?: RequestInit): Promise<Response> };
  export function runInDurableObject<R>(stub: DurableObjectStub, callback: (instance: unknown, state: DurableObjectState) => R | Promise<R>): Promise<R>;
  export function runDurableObjectAlarm(stub: DurableObjectStub): Promise<boolean>;
  export function evictDurableObject(stub: DurableObjectStub): Promise<void>;
}
