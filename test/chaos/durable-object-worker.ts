// The test Worker of the Durable Object chaos runs (./durable-object.ts bundles it for Miniflare):
// every request names one store call, and the ChaosStore object runs it on the real
// createDurableObjectStore over its SQLite storage. Errors cross as data, by name, so that the Node
// side throws the same classes with the same meaning (a conflict's key, an unavailable's outcome).
import type { DurableObjectNamespace, DurableObjectState } from '@cloudflare/workers-types';
import { createDurableObjectStore } from '../../adapters/durable-objects/index.ts';
import { ConflictError, InvalidCursorError, StoreLimitError, StoreUnavailableError, type Store } from '../../src/store.ts';

/** One store call: what the Node side posts. */
export type Call = { op: 'get'; key: string } | { op: 'list'; prefix: string; opts?: { cursor?: string; limit?: number } } | { op: 'commit'; writes: unknown[] };

/** A store error as data. */
export interface WireError {
  name: string;
  message: string;
  key?: string;
  outcome?: 'not-applied' | 'unknown';
}

/** The answer to a call: its result (`null` for a get that found nothing), or the error it threw. */
export type Answer = { ok: unknown } | { error: WireError };

export function toWire(err: unknown): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e instanceof ConflictError) return { name: 'ConflictError', message: e.message, key: e.key };
  if (e instanceof StoreUnavailableError) return { name: 'StoreUnavailableError', message: e.message, outcome: e.outcome };
  if (e instanceof InvalidCursorError) return { name: 'InvalidCursorError', message: e.message };
  if (e instanceof StoreLimitError) return { name: 'StoreLimitError', message: e.message };
  return { name: e.name, message: e.message };
}

export function fromWire(w: WireError): Error {
  switch (w.name) {
    case 'ConflictError':
      return new ConflictError(w.key!, w.message);
    case 'StoreUnavailableError':
      return new StoreUnavailableError(w.message, { outcome: w.outcome! });
    case 'InvalidCursorError':
      return new InvalidCursorError(w.message);
    case 'StoreLimitError':
      return new StoreLimitError(w.message);
    default:
      // Not a store error (a bug in there): it stays one, not a retryable outage.
      return Object.assign(new Error(`in the Durable Object: ${w.message}`), { name: w.name });
  }
}

export class ChaosStore {
  readonly #store: Store;
  constructor(state: DurableObjectState) {
    this.#store = createDurableObjectStore(state.storage);
  }

  async fetch(request: Request): Promise<Response> {
    const call = (await request.json()) as Call;
    try {
      const ok =
        call.op === 'get'
          ? ((await this.#store.get(call.key)) ?? null)
          : call.op === 'list'
            ? await this.#store.list(call.prefix, call.opts)
            : await this.#store.commit(call.writes as Parameters<Store['commit']>[0]);
      return Response.json({ ok } satisfies Answer);
    } catch (err) {
      return Response.json({ error: toWire(err) } satisfies Answer);
    }
  }
}

export default {
  fetch(request: Request, env: { STORE: DurableObjectNamespace }): Promise<Response> {
    const name = new URL(request.url).pathname.slice(1);
    return env.STORE.get(env.STORE.idFromName(name)).fetch(request as never) as unknown as Promise<Response>;
  },
};
