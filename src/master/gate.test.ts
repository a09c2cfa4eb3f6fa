// The Worker's early refusals must be exactly what the master itself would answer.
import { describe, expect, it } from 'vitest';
import { JOIN, OPERATOR, testMaster } from '../../test/support/master.ts';
import { refuseEarly } from './gate.ts';

const request = (path: string, token?: string, method = 'POST') =>
  new Request(`http://registrar.test${path}`, { method, headers: token ? { authorization: `Bearer ${token}`, 'content-type': 'application/json' } : {}, ...(method === 'POST' ? { body: '{}' } : {}) });

describe('refusing early, before the registry (the Worker)', () => {
  it('refuses API requests without a bearer credential with the master’s own 401', async () => {
    const m = testMaster();
    await m.sweep();
    for (const [path, method] of [['/api/v1/agents', 'POST'], ['/api/v1/agents', 'GET'], ['/api/v1/master', 'GET'], ['/api/v1/agents/0b9d7f3e-2a41-4e6b-8c0d-5f1e2a3b4c5d/heartbeat', 'POST']] as const) {
      const early = refuseEarly(request(path, undefined, method));
      const master = await m.app.request(request(path, undefined, method));
      expect(early?.status, path).toBe(401);
      expect(early?.status).toBe(master.status);
      expect(((await early!.json()) as { error: string }).error).toBe(((await master.json()) as { error: string }).error);
    }
  });

  it('refuses agent paths whose id is no UUID with the master’s own 404', async () => {
    const m = testMaster();
    await m.sweep();
    for (const path of ['/api/v1/agents/not-a-uuid/heartbeat', '/api/v1/agents/..%2Fmaster/reregister', '/api/v1/agents/%00/heartbeat']) {
      const early = refuseEarly(request(path, 'some-secret-0123456789'));
      const master = await m.app.request(request(path, 'some-secret-0123456789'));
      expect(early?.status, path).toBe(404);
      expect(master.status, path).toBe(404);
    }
  });

  it('passes on everything else', () => {
    expect(refuseEarly(request('/health', undefined, 'GET'))).toBeUndefined();
    expect(refuseEarly(request('/api/v1/agents', JOIN))).toBeUndefined();
    expect(refuseEarly(request('/api/v1/agents?status=admitted', OPERATOR, 'GET'))).toBeUndefined();
    expect(refuseEarly(request('/api/v1/agents/0b9d7f3e-2a41-4e6b-8c0d-5f1e2a3b4c5d/heartbeat', 'secret'))).toBeUndefined();
  });
});
