// The hook into the pinned SDK's call options (calls.ts): if an SDK upgrade moves it, this fails
// rather than the store silently losing its deadlines inside the SDK and its authoritative conflicts.
import { Firestore } from '@google-cloud/firestore';
import { afterEach, describe, expect, it } from 'vitest';
import { hookCalls, withinDeadline, type Call } from './calls.ts';

type Options = { timeout?: number; retry?: unknown; retryRequestOptions?: unknown };

describe('firestore call options', () => {
  const clients: Firestore[] = [];
  const client = () => {
    const firestore = new Firestore({ projectId: 'calls-test', host: '127.0.0.1:1', ssl: false });
    clients.push(firestore);
    return firestore;
  };
  const optionsOf = (firestore: Firestore, method: string, retryCodes?: number[]) =>
    (firestore as unknown as { createCallOptions(m: string, r?: number[]): Options }).createCallOptions(method, retryCodes);
  afterEach(async () => {
    for (const firestore of clients.splice(0)) await firestore.terminate();
  });

  it('installs on the pinned SDK, once', async () => {
    const firestore = client();
    expect(hookCalls(firestore)).toBe(true);
    expect(hookCalls(firestore)).toBe(true);
    const call: Call = { deadline: Date.now() + 1_000, commits: 0 };
    await withinDeadline(call, async () => optionsOf(firestore, 'commit', [10, 14]));
    expect(call.commits).toBe(1);
  });

  it('leaves calls made outside a store call as the SDK makes them', () => {
    const firestore = client();
    hookCalls(firestore);
    const options = optionsOf(firestore, 'commit', [10, 14]);
    expect(options.timeout).toBeUndefined();
    expect(options.retry).toBeTruthy();
  });

  it('gives a call its time left, no gax retries, and counts its Commit RPCs', async () => {
    const firestore = client();
    hookCalls(firestore);
    const call: Call = { deadline: Date.now() + 1_000, commits: 0 };
    const [commit, read] = await withinDeadline(call, async () => [optionsOf(firestore, 'commit', [10, 14]), optionsOf(firestore, 'batchGetDocuments')]);
    for (const options of [commit!, read!]) {
      expect(options.timeout).toBeGreaterThan(900);
      expect(options.timeout).toBeLessThanOrEqual(1_000);
      expect(options.retry).toBeNull();
      expect(options.retryRequestOptions).toEqual({ retries: 0, noResponseRetries: 0 });
    }
    expect(call.commits).toBe(1);
  });

  it('fails an attempt the SDK starts after the deadline with a code it does not retry', async () => {
    const firestore = client();
    hookCalls(firestore);
    const call: Call = { deadline: Date.now() + 50, commits: 0 };
    const options = await withinDeadline(call, async () => optionsOf(firestore, 'runQuery'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(() => options.timeout).toThrow(expect.objectContaining({ code: 1 }));
  });

  it('rejects with DEADLINE_EXCEEDED at the deadline, whatever the operation does', async () => {
    const started = Date.now();
    const err = await withinDeadline({ deadline: started + 100, commits: 0 }, () => new Promise(() => {})).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 4 });
    expect(Date.now() - started).toBeLessThan(300);
  });
});
