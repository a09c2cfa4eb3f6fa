// Builds a master on a fake clock and an in-memory (or given) store, for app.request() tests.
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FakeClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { createMaster } from '../../src/master/index.ts';
import type { Metrics } from '../../src/metrics/index.ts';
import type { Policy } from '../../src/registry/index.ts';
import { createRegistrar, type Log } from '../../src/registrar.ts';
import type { Store } from '../../src/store.ts';

export const JOIN = 'join-token-0123456789';
export const OPERATOR = 'operator-token-0123456789';
export const FRAMEWORK = 'framework-token-0123456789';
/** A second join token, labelled rack-9: each label has its own registration rate. */
export const JOIN_RACK_9 = 'join-token-rack-9-0123456789';

export const defaultPolicy = (): Policy => loadConfig({}).policy;

export function testMaster(opts: { store?: Store; clock?: FakeClock; policy?: Partial<Policy>; registrationRateLimit?: { count: number; per: number }; ticketKeys?: string[]; metrics?: Metrics; log?: Log } = {}) {
  const store = opts.store ?? createMemoryStore();
  const clock = opts.clock ?? new FakeClock();
  const policy = { ...defaultPolicy(), ...opts.policy };
  const logs: { message: string; fields?: Record<string, unknown> }[] = [];
  const log = (message: string, fields?: Record<string, unknown>) => {
    logs.push({ message, ...(fields ? { fields } : {}) });
    opts.log?.(message, fields);
  };
  const registrar = createRegistrar({ store, clock, policy, log, ...(opts.ticketKeys ? { ticketKeys: opts.ticketKeys } : {}) });
  const app = createMaster({
    registrar,
    tokens: { join: [{ label: 'join', token: JOIN }, { label: 'rack-9', token: JOIN_RACK_9 }], operator: [{ label: 'alice', token: OPERATOR }], framework: [{ label: 'schedulers', token: FRAMEWORK }] },
    log,
    ...(opts.registrationRateLimit ? { registrationRateLimit: opts.registrationRateLimit } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  const call = async (method: string, path: string, o: { token?: string; body?: unknown; raw?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.body !== undefined || o.raw !== undefined) headers['content-type'] = 'application/json';
    const res = await app.request(path, { method, headers, ...(o.raw !== undefined ? { body: o.raw } : o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  };
  const api = {
    register: (body: Record<string, unknown> = { hostname: 'a1' }) => call('POST', '/api/v1/agents', { token: JOIN, body }),
    heartbeat: (id: string, secret: string, body: Record<string, unknown>) => call('POST', `/api/v1/agents/${id}/heartbeat`, { token: secret, body }),
    reregister: (id: string, secret: string, body: Record<string, unknown> = { hostname: 'a1' }) => call('POST', `/api/v1/agents/${id}/reregister`, { token: secret, body }),
    operator: (method: string, path: string, body?: unknown) => call(method, `/api/v1${path}`, { token: OPERATOR, ...(body === undefined ? {} : { body }) }),
  };
  return { store, clock, policy, registrar, app, call, api, logs, sweep: () => registrar.sweep() };
}
