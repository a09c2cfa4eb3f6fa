// The agent client's behaviour (DESIGN.md, "Agent behaviour") against a scripted master: what it
// saves before registering, how it backs off, when it re-registers, stops and shuts down.
import { describe, expect, it } from 'vitest';
import { createAgent } from './client.ts';
import type { AgentState, StateFile } from './state.ts';

interface Call {
  method: string;
  path: string;
  token: string;
  body?: Record<string, unknown>;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | 'network-error';

/** A master that answers each request from a script, recording what it was asked. */
function scriptedMaster(answer: (call: Call, n: number) => Answer) {
  const calls: Call[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    const call: Call = {
      method: init.method ?? 'GET',
      path: new URL(url).pathname,
      token: String((init.headers as Record<string, string>).authorization).replace('Bearer ', ''),
      ...(init.body ? { body: JSON.parse(String(init.body)) as Record<string, unknown> } : {}),
    };
    calls.push(call);
    const a = answer(call, calls.length);
    if (a === 'network-error') throw new TypeError('fetch failed');
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), { status: a.status, headers: a.headers ?? {} });
  }) as unknown as typeof globalThis.fetch;
  return { calls, fetch };
}

function memoryState(initial?: AgentState): StateFile & { saved: (AgentState | undefined)[] } {
  let state = initial;
  const saved: (AgentState | undefined)[] = [];
  return {
    saved,
    load: async () => state,
    save: async (s) => {
      state = s;
      saved.push(s);
    },
  };
}

const timings = { heartbeatIntervalSeconds: 10, agentTimeoutSeconds: 50 };
const registered = (call: Call) => ({ status: 201, body: { agentId: call.body?.agentId, secret: call.body?.secret, epoch: 7, ...timings } });

function agentWith(answer: (call: Call, n: number) => Answer, state = memoryState(), random = () => 0.5) {
  const master = scriptedMaster(answer);
  const sleeps: number[] = [];
  const agent = createAgent({
    master: 'http://master.test:5050/',
    insecureHttp: true,
    joinToken: 'join-token-0123456789',
    info: { hostname: 'h1' },
    state,
    fetch: master.fetch,
    random,
    sleep: async (ms) => {
      sleeps.push(ms);
      if (sleeps.length > 200) throw new Error('the agent never stopped');
    },
  });
  return { agent, master, sleeps, state };
}

describe('the agent client', () => {
  it('saves a fresh id and secret before registering with them, then heartbeats in its epoch', async () => {
    const { agent, master, state } = agentWith((call, n) => {
      if (n === 1) {
        expect(state.saved[0]).toMatchObject({ agentId: call.body?.agentId, secret: call.body?.secret, registered: false });
        return registered(call);
      }
      return n < 4 ? { status: 200, body: { epoch: 7, deactivated: false, ...timings } } : { status: 410, body: { error: 'gone' } };
    });
    expect(await agent.run()).toMatchObject({ reason: 'gone' });
    expect(master.calls[0]).toMatchObject({ method: 'POST', path: '/api/v1/agents', token: 'join-token-0123456789' });
    const { agentId, secret } = state.saved[0]!;
    expect(agentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(master.calls[1]).toEqual({ method: 'POST', path: `/api/v1/agents/${agentId}/heartbeat`, token: secret, body: { epoch: 7 } });
    expect(state.saved.at(-1)).toMatchObject({ registered: true, epoch: 7 });
  });

  it('heartbeats with jitter, never later than the interval the master gives', async () => {
    const { agent, sleeps } = agentWith((call, n) => (n === 1 ? registered(call) : n < 6 ? { status: 200, body: { epoch: 7, deactivated: false, ...timings } } : { status: 410 }), memoryState(), () => 0.99);
    await agent.run();
    expect(sleeps.length).toBeGreaterThanOrEqual(5);
    for (const ms of sleeps) {
      expect(ms).toBeGreaterThanOrEqual(9_800);
      expect(ms).toBeLessThanOrEqual(10_000);
    }
  });

  it('keeps its beat start to start, so a slow master never stretches it past the interval', async () => {
    // A fake clock: sleeping moves it, and so does each request, by two seconds of latency.
    let now = 0;
    const master = scriptedMaster((call, n) => {
      now += 2_000;
      return n === 1 ? registered(call) : n < 12 ? { status: 200, body: { epoch: 7, deactivated: false, ...timings } } : { status: 410 };
    });
    const sent: number[] = [];
    const fetch = ((url: string, init: RequestInit) => {
      if (url.endsWith('/heartbeat')) sent.push(now);
      return master.fetch(url, init);
    }) as typeof globalThis.fetch;
    const agent = createAgent({
      master: 'http://master.test:5050/', insecureHttp: true, joinToken: 'join-token-0123456789', info: { hostname: 'h1' }, state: memoryState(),
      fetch, random: Math.random, now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    await agent.run();
    expect(sent.length).toBe(11);
    const gaps = sent.slice(1).map((t, i) => t - sent[i]!);
    for (const gap of gaps) {
      expect(gap).toBeLessThanOrEqual(10_000);
      // A narrow band below the interval: about one request per interval, what serverless runtimes bill.
      expect(gap).toBeGreaterThanOrEqual(9_800);
    }
  });

  it('retries 503 and network errors with capped exponential backoff, honouring Retry-After', async () => {
    const { agent, sleeps, master } = agentWith((call, n) => {
      if (n === 1) return 'network-error';
      if (n === 2) return { status: 503, body: { error: 'unavailable' }, headers: { 'retry-after': '3' } };
      if (n === 3) return { status: 429, headers: { 'retry-after': '1' } };
      if (n === 4) return registered(call);
      return { status: 410 };
    }, memoryState(), () => 1);
    expect(await agent.run()).toMatchObject({ reason: 'gone' });
    expect(master.calls.slice(0, 4).every((c) => c.path === '/api/v1/agents')).toBe(true);
    // Full jitter (random() = 1 here) over 250 ms doubling, capped at the heartbeat interval (15 s before the master says).
    expect(sleeps.slice(0, 3)).toEqual([250, 3_000, 1_000]);
  });

  it('caps its backoff at the heartbeat interval while the master is down', async () => {
    const { agent, sleeps } = agentWith((call, n) => (n <= 12 ? 'network-error' : n === 13 ? registered(call) : { status: 410 }), memoryState(), () => 1);
    await agent.run();
    expect(Math.max(...sleeps.slice(0, 12))).toBe(15_000);
    expect(sleeps.slice(0, 7)).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 15_000]);
  });

  it('re-registers after a random delay of up to one interval on 409, in the epoch it is given', async () => {
    const { agent, master, sleeps } = agentWith((call, n) => {
      if (n === 1) return registered(call);
      if (n === 2) return { status: 409, body: { error: 'reregister', epoch: 9 } };
      if (n === 3) return { status: 200, body: { agentId: 'x', epoch: 9, ...timings } };
      if (n === 4) return { status: 200, body: { epoch: 9, deactivated: false, ...timings } };
      return { status: 410 };
    }, memoryState(), () => 0.25);
    await agent.run();
    expect(master.calls[2]).toMatchObject({ path: expect.stringMatching(/\/reregister$/), body: { hostname: 'h1' } });
    expect(sleeps[1]).toBe(2_500); // 0.25 × the 10 s interval
    expect(master.calls[3]?.body).toEqual({ epoch: 9 });
  });

  it('sends back the ticket its registration or re-registration came with, and drops one after a 409', async () => {
    const { agent, master } = agentWith((call, n) => {
      if (n === 1) return { status: 201, body: { ...registered(call).body, ticket: 't-registered' } };
      if (n === 2) return { status: 409, body: { error: 'reregister', epoch: 9 } };
      if (n === 3) return { status: 200, body: { agentId: 'x', epoch: 9, ...timings, ticket: 't-reregistered' } };
      if (n === 4) return { status: 409, body: { error: 'reregister', epoch: 10 } };
      if (n === 5) return { status: 200, body: { agentId: 'x', epoch: 10, ...timings } };
      if (n === 6) return { status: 200, body: { epoch: 10, deactivated: false, ...timings } };
      return { status: 410 };
    });
    await agent.run();
    expect(master.calls[1]?.body).toEqual({ epoch: 7, ticket: 't-registered' });
    expect(master.calls[3]?.body).toEqual({ epoch: 9, ticket: 't-reregistered' });
    expect(master.calls[5]?.body).toEqual({ epoch: 10 });
  });

  it('waits Retry-After when its machine is still held by a live older agent, then registers', async () => {
    const { agent, master, sleeps } = agentWith((call, n) => {
      if (n === 1) return { status: 409, body: { error: 'machine-in-use', message: 'in use' }, headers: { 'retry-after': '40' } };
      if (n === 2) return registered(call);
      return { status: 410 };
    }, memoryState(), () => 0.5);
    expect(await agent.run()).toMatchObject({ reason: 'gone' });
    expect(master.calls.slice(0, 2).map((c) => c.path)).toEqual(['/api/v1/agents', '/api/v1/agents']);
    expect(master.calls[1]?.body?.agentId).toBe(master.calls[0]?.body?.agentId); // the same saved identity
    expect(sleeps[0]).toBe(40_000 + 0.5 * 15_000); // Retry-After, plus jitter of up to an interval
  });

  it('refuses plain http:// to a master on another machine unless told to', () => {
    const options = { joinToken: 'join-token-0123456789', info: { hostname: 'h1' }, state: memoryState() };
    expect(() => createAgent({ ...options, master: 'http://master.example.com:5050' })).toThrow(/in clear/);
    expect(() => createAgent({ ...options, master: 'http://master.example.com:5050', insecureHttp: true })).not.toThrow();
    for (const local of ['http://localhost:5050', 'http://127.0.0.1:5050', 'http://[::1]:5050', 'https://master.example.com']) {
      expect(() => createAgent({ ...options, master: local }), local).not.toThrow();
    }
  });

  it('stops and reports on 401 or 403, and never retries them', async () => {
    for (const status of [401, 403]) {
      const { agent, master } = agentWith(() => ({ status, body: { error: 'unauthorized', message: 'invalid join token' } }));
      const exit = await agent.run();
      expect(exit.reason).toBe('refused');
      expect(exit.message).toMatch(/invalid join token/);
      expect(master.calls).toHaveLength(1);
    }
  });

  it('re-registers with its saved id after a restart, and joins afresh when the master no longer knows it', async () => {
    const saved: AgentState = { master: 'http://master.test:5050', agentId: '11111111-1111-4111-8111-111111111111', secret: 's'.repeat(43), registered: true, epoch: 3 };
    const { agent, master, state } = agentWith((call, n) => {
      if (n === 1) return { status: 404, body: { error: 'not_found' } };
      if (n === 2) return registered(call);
      return { status: 410 };
    }, memoryState(saved));
    await agent.run();
    expect(master.calls[0]).toMatchObject({ path: `/api/v1/agents/${saved.agentId}/reregister`, token: saved.secret });
    expect(master.calls[1]?.path).toBe('/api/v1/agents');
    expect(master.calls[1]?.body?.agentId).not.toBe(saved.agentId);
    expect(state.saved).toContain(undefined); // the old identity was dropped first
  });

  it('reports drained once told to drain (it runs no work of its own)', async () => {
    const { agent, master } = agentWith((call, n) => {
      if (n === 1) return registered(call);
      if (n === 2) return { status: 200, body: { epoch: 7, deactivated: false, drain: { state: 'draining', remainingSeconds: 30 }, ...timings } };
      if (n === 3) return { status: 200, body: { epoch: 7, deactivated: false, drain: { state: 'drained' }, ...timings } };
      return { status: 410 };
    });
    await agent.run();
    expect(master.calls[2]?.body).toEqual({ epoch: 7, drained: true });
  });
});
