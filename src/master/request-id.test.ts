// A request id per request: the caller's when it is a sane token, else a new one, in the answer.
import { describe, expect, it } from 'vitest';
import { servingMaster } from '../../test/support/master-http.ts';

const idOf = async (headers: Record<string, string> = {}, path = '/health') => {
  const m = await servingMaster();
  return (await m.app.request(path, { headers })).headers.get('x-request-id');
};

describe('x-request-id', () => {
  it('answers a new id when the request brings none', async () => {
    const [a, b] = [await idOf(), await idOf()];
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).not.toBe(a);
  });

  it("keeps the caller's id when it is a sane token", async () => {
    expect(await idOf({ 'x-request-id': 'lb-1a2b3c.4d:5e/6f' })).toBe('lb-1a2b3c.4d:5e/6f');
  });

  it('replaces an id that is not one: too long, or with spaces and markup', async () => {
    for (const bad of ['x'.repeat(129), 'a b', '<script>', '-starts-with-a-dash']) expect(await idOf({ 'x-request-id': bad })).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers it on errors and unknown routes too', async () => {
    expect(await idOf({ 'x-request-id': 'r-404' }, '/nowhere')).toBe('r-404');
    expect(await idOf({ 'x-request-id': 'r-401' }, '/api/v1/agents')).toBe('r-401');
  });
});
