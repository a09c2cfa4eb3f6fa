// The Durable Object store for chaos runs: Miniflare (workerd) in this process, running
// ./durable-object-worker.ts, whose ChaosStore object holds the real createDurableObjectStore on its
// SQLite storage. The Store returned here sends each call there and throws the store's own errors
// back; a call whose answer never came back is unavailable, with an unknown outcome if it was a commit.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { StoreUnavailableError, type Store } from '../../src/store.ts';
import { fromWire, type Answer, type Call } from './durable-object-worker.ts';

export async function startDurableObjectStore(name: string): Promise<{ store: Store; stop: () => Promise<void> }> {
  process.env.WRANGLER_SEND_METRICS = 'false';
  const bundled = await build({ entryPoints: [fileURLToPath(new URL('./durable-object-worker.ts', import.meta.url))], bundle: true, format: 'esm', write: false, logLevel: 'silent' });
  // The deployment's runtime (wrangler.toml), so the object runs as it does in production.
  const toml = await readFile(new URL('../../wrangler.toml', import.meta.url), 'utf8');
  const mf = new Miniflare({
    compatibilityDate: /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)![1]!,
    compatibilityFlags: ['nodejs_compat'],
    modules: true,
    script: bundled.outputFiles[0]!.text,
    durableObjects: { STORE: { className: 'ChaosStore', useSQLite: true } },
  });
  await mf.ready;

  let closed = false;
  const send = async (call: Call): Promise<unknown> => {
    if (closed) throw new StoreUnavailableError('durable-objects store is closed');
    let answer: Answer;
    try {
      const res = await mf.dispatchFetch(`http://chaos.invalid/${encodeURIComponent(name)}`, { method: 'POST', body: JSON.stringify(call) });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      answer = (await res.json()) as Answer;
    } catch (err) {
      // Lost on the way there or back: a commit may have applied.
      throw new StoreUnavailableError(`durable object unreachable: ${(err as Error).message}`, { outcome: call.op === 'commit' ? 'unknown' : 'not-applied', cause: err });
    }
    if ('error' in answer) throw fromWire(answer.error);
    return answer.ok;
  };
  const store: Store = {
    get: async (key) => ((await send({ op: 'get', key })) ?? undefined) as never,
    list: async (prefix, opts) => (await send({ op: 'list', prefix, ...(opts && { opts }) })) as never,
    commit: async (writes) => (await send({ op: 'commit', writes })) as never,
    close: async () => {
      closed = true;
    },
  };
  return { store, stop: () => mf.dispose() };
}
