// Tickets (DESIGN.md, rule 13): a heartbeat with a valid ticket is answered without reading the
// store while no lastSeenAt write is due; 409, 410 and an operator's instructions still reach the
// agent within one granularity; a ticket works only for the agent and secret it was issued to.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { StoreUnavailableError, type Store, type Write } from '../store.ts';
import { TICKET_KEYS_KEY, TICKET_KEY_ROTATION } from '../registrar/tickets.ts';
import { countingStore, type CountingStore } from '../../bench/counting-store.ts';
import { failover, registerAgent, servingMaster, type TestMaster } from '../../test/support/master-http.ts';
import { testMaster } from '../../test/support/master.ts';

/** Store calls (gets, list pages, commits) charged to a phase of the counting store. */
const calls = (counter: CountingStore, phase: string) => {
  const t = counter.tally(phase);
  return t.gets + t.lists + t.commits;
};

async function ticketed(m: TestMaster) {
  const a = await registerAgent(m);
  m.clock.advance(m.policy.heartbeatInterval);
  const first = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
  expect(first.status).toBe(200);
  expect(first.body.ticket).toEqual(expect.any(String));
  return { ...a, ticket: first.body.ticket as string };
}

describe('heartbeats with a ticket (rule 13)', () => {
  it('are answered without reading the store while no lastSeenAt write is due, with the same ticket', async () => {
    const counter = countingStore(createMemoryStore());
    const m = await servingMaster({ store: counter.store });
    const a = await ticketed(m);
    m.clock.advance(m.policy.heartbeatInterval);
    await m.sweep(); // renews the lease: this instance holds the master it wrote
    counter.phase = 'ticketed';
    m.clock.advance(1);
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ epoch: a.epoch, heartbeatIntervalSeconds: 15, agentTimeoutSeconds: 75, deactivated: false, ticket: a.ticket });
    expect(calls(counter, 'ticketed')).toBe(0);
  });

  it('read and write the record once the lastSeenAt write falls due, and get a new ticket', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    m.clock.advance(m.policy.livenessGranularity);
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(200);
    expect(res.body.ticket).not.toBe(a.ticket);
    expect((await m.store.get<{ lastSeenAt: number }>(`agents/${a.id}`))!.value.lastSeenAt).toBe(m.clock.now());
  });

  it('get 409 reregister at once after a new epoch, without reading or writing the record', async () => {
    const spy = spyStore();
    const m = await servingMaster({ store: spy.store });
    const a = await ticketed(m);
    const epoch = await failover(m);
    spy.clear();
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: 'reregister', message: `the master is in epoch ${epoch}; re-register`, epoch });
    expect(spy.agentReads()).toBe(0);
    expect(spy.committed).toEqual([]);
    // Once the ticket has expired the record answers, as it would for any heartbeat.
    m.clock.advance(m.policy.livenessGranularity);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket })).status).toBe(409);
    expect(spy.agentReads()).toBe(1);
  });

  it('come with registration and re-registration: the first heartbeat after either reads nothing', async () => {
    const spy = spyStore();
    const m = await servingMaster({ store: spy.store });
    const registered = await m.api.register({ hostname: 'a1' });
    expect(registered.body.ticket).toEqual(expect.any(String));
    const a = { id: registered.body.agentId as string, secret: registered.body.secret as string };
    m.clock.advance(m.policy.heartbeatInterval);
    await m.sweep(); // the sweep reads every record; the heartbeat after it must not
    spy.clear();
    const first = await m.api.heartbeat(a.id, a.secret, { epoch: registered.body.epoch, ticket: registered.body.ticket });
    expect(first.status).toBe(200);
    expect(spy.agentReads()).toBe(0);

    const epoch = await failover(m);
    const back = await m.call('POST', `/api/v1/agents/${a.id}/reregister`, { token: a.secret, body: { hostname: 'a1' } });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ epoch, ticket: expect.any(String) });
    m.clock.advance(m.policy.heartbeatInterval);
    spy.clear();
    const after = await m.api.heartbeat(a.id, a.secret, { epoch, ticket: back.body.ticket });
    expect(after.status).toBe(200);
    expect(after.body.epoch).toBe(epoch);
    expect(spy.agentReads()).toBe(0);
  });

  it('get 410 within one granularity after an operator marks the agent gone, and its instructions likewise', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    const b = await ticketed(m);
    expect((await m.api.operator('POST', `/agents/${a.id}/gone`, {})).status).toBeLessThan(300);
    expect((await m.api.operator('POST', `/agents/${b.id}/deactivate`, {})).status).toBeLessThan(300);
    const until = m.clock.now() + m.policy.livenessGranularity;
    let gone = false;
    let deactivated = false;
    while (m.clock.now() <= until && !(gone && deactivated)) {
      gone = (await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket })).status === 410;
      deactivated = (await m.api.heartbeat(b.id, b.secret, { epoch: b.epoch, ticket: b.ticket })).body.deactivated === true;
      m.clock.advance(m.policy.heartbeatInterval);
    }
    expect({ gone, deactivated }).toEqual({ gone: true, deactivated: true });
  });

  it('that report drained always reach the store', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    expect((await m.api.operator('POST', `/agents/${a.id}/drain`, {})).status).toBeLessThan(300);
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket, drained: true });
    expect(res.status).toBe(200);
    expect(res.body.drain).toMatchObject({ state: 'drained' });
  });

  it('work only for the agent and secret they were issued to, and unaltered', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    const b = await ticketed(m);
    expect((await m.api.heartbeat(a.id, b.secret, { epoch: a.epoch, ticket: a.ticket })).status).toBe(401);
    expect((await m.api.heartbeat(b.id, b.secret, { epoch: b.epoch, ticket: a.ticket })).body.ticket).not.toBe(a.ticket);
    const [kid, claims, mac] = a.ticket.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims, 'base64url').toString()), expiresAt: 9e15 })).toString('base64url');
    for (const bad of [`${kid}.${forged}.${mac}`, `xxxxxxxx.${claims}.${mac}`, `${kid}.${claims}.${mac.slice(1)}`, 'nonsense']) {
      const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: bad });
      expect(res.status, bad).toBe(200); // answered from the store instead
      expect(res.body.ticket, bad).not.toBe(bad);
    }
  });

  it('a rejected heartbeat with a ticket never creates the keys', async () => {
    const m = await servingMaster();
    const a = await registerAgent(m);
    // Registration issued the first ticket, and so created the keys: start again without them.
    await m.store.commit([{ key: TICKET_KEYS_KEY, expect: 'any', delete: true }]);
    const res = await m.api.heartbeat(a.id, 'x'.repeat(43), { epoch: a.epoch, ticket: 'abcdefgh.e30.AAAA' });
    expect(res.status).toBe(401);
    expect(await m.store.get(TICKET_KEYS_KEY)).toBeUndefined();
  });

  it('outlive a key rotation: the previous key still verifies', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    const first = (await m.store.get<{ keys: { id: string }[] }>(TICKET_KEYS_KEY))!.value.keys;
    m.clock.advance(TICKET_KEY_ROTATION);
    await m.sweep();
    const b = await ticketed(m); // issues with a new key
    const keys = (await m.store.get<{ keys: { id: string }[] }>(TICKET_KEYS_KEY))!.value.keys;
    expect(keys.map((k) => k.id)).toEqual([expect.any(String), first[0]!.id]);
    expect(b.ticket.split('.')[0]).toBe(keys[0]!.id);
    expect(a.ticket.split('.')[0]).toBe(first[0]!.id);
  });

  it('with keys from configuration: the first signs, all verify, nothing is kept in the registry', async () => {
    const counter = countingStore(createMemoryStore());
    const { store } = counter;
    const m = await servingMaster({ store, ticketKeys: ['k'.repeat(40), 'o'.repeat(40)] });
    const a = await ticketed(m);
    m.clock.advance(1);
    await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    counter.phase = 'ticketed';
    m.clock.advance(1);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket })).body.ticket).toBe(a.ticket);
    expect(calls(counter, 'ticketed')).toBe(0);
    counter.phase = 'other';
    expect(await m.store.get(TICKET_KEYS_KEY)).toBeUndefined();
    // Rotated configuration: the old key verifies for the tickets already out.
    const rotated = await servingMaster({ store, clock: m.clock, ticketKeys: ['n'.repeat(40), 'k'.repeat(40)] });
    expect((await rotated.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket })).body.ticket).toBe(a.ticket);
  });
});

/** A store that records the keys read with `get` and the keys each commit wrote. */
function spyStore(inner: Store = createMemoryStore()) {
  const got: string[] = [];
  const writes: Write[][] = [];
  const store: Store = {
    ...inner,
    get(key) {
      got.push(key);
      return inner.get(key);
    },
    commit(ws) {
      writes.push(ws);
      return inner.commit(ws);
    },
  };
  const agentReads = () => got.filter((k) => k.startsWith('agents/')).length;
  const clear = () => {
    got.length = 0;
    writes.length = 0;
  };
  return {
    store, got, writes, agentReads, clear,
    /** The keys each commit wrote. */
    get committed() {
      return writes.map((ws) => ws.map((w) => w.key));
    },
  };
}

describe("a ticketed heartbeat's due lastSeenAt write (rule 13)", () => {
  it('writes on the version its ticket vouches for, without reading the record first', async () => {
    const spy = spyStore();
    const m = await servingMaster({ store: spy.store });
    const a = await ticketed(m);
    m.clock.advance(m.policy.livenessGranularity);
    spy.clear();
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(200);
    expect(res.body.ticket).not.toBe(a.ticket);
    expect(spy.agentReads()).toBe(0);
    expect(spy.committed).toEqual([[`agents/${a.id}`]]);
    expect((await m.store.get<{ lastSeenAt: number }>(`agents/${a.id}`))!.value.lastSeenAt).toBe(m.clock.now());
    // And so on, a granularity after another: the new ticket names the version just written.
    m.clock.advance(m.policy.livenessGranularity);
    spy.clear();
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: res.body.ticket })).status).toBe(200);
    expect(spy.agentReads()).toBe(0);
  });

  it('on the instance that registered the agent, writes the whole record it holds: no read, and no patch to merge', async () => {
    const spy = spyStore();
    const m = await servingMaster({ store: spy.store });
    const registered = await m.api.register({ hostname: 'a1' });
    const a = { id: registered.body.agentId as string, secret: registered.body.secret as string };
    m.clock.advance(m.policy.livenessGranularity);
    spy.clear();
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: registered.body.epoch, ticket: registered.body.ticket });
    expect(res.status).toBe(200);
    expect(spy.agentReads()).toBe(0);
    expect(spy.writes.map((ws) => ws.map((w) => ('put' in w ? 'put' : 'patch' in w ? 'patch' : 'other')))).toEqual([['put']]);
  });

  it("carries an operator's instruction given meanwhile: the write conflicts and the record is read", async () => {
    const spy = spyStore();
    const m = await servingMaster({ store: spy.store });
    const a = await ticketed(m);
    expect((await m.api.operator('POST', `/agents/${a.id}/drain`, { gracePeriodSeconds: 600 })).status).toBeLessThan(300);
    m.clock.advance(m.policy.livenessGranularity);
    spy.clear();
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(200);
    expect(res.body.drain).toMatchObject({ state: 'draining' });
    expect(spy.agentReads()).toBe(1);
    const stored = (await m.store.get<{ lastSeenAt: number; drain?: unknown }>(`agents/${a.id}`))!.value;
    expect(stored).toMatchObject({ lastSeenAt: m.clock.now(), drain: { state: 'draining' } });
  });

  it('answers 410 for an agent marked gone meanwhile, and changes nothing', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    expect((await m.api.operator('POST', `/agents/${a.id}/gone`, {})).status).toBeLessThan(300);
    const before = await m.store.get(`agents/${a.id}`);
    m.clock.advance(m.policy.livenessGranularity);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket })).status).toBe(410);
    expect(await m.store.get(`agents/${a.id}`)).toEqual(before);
  });

  it('writes on the version its ticket vouches for when another instance wrote the record last, without reading it (no affinity)', async () => {
    const spy = spyStore();
    const m = await servingMaster({ store: spy.store });
    const other = await servingMaster({ store: spy.store, clock: m.clock });
    const a = await ticketed(m); // m holds the record
    m.clock.advance(m.policy.livenessGranularity);
    const fromOther = await other.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(fromOther.status).toBe(200);
    m.clock.advance(m.policy.livenessGranularity);
    const before = (await m.store.get<Record<string, unknown>>(`agents/${a.id}`))!.value;
    spy.clear();
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: fromOther.body.ticket });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ epoch: a.epoch, deactivated: false, ticket: expect.any(String) });
    expect(spy.agentReads()).toBe(0);
    expect(spy.committed).toEqual([[`agents/${a.id}`]]);
    // Exactly the write a read would have made: lastSeenAt and the request id, nothing else.
    const after = (await m.store.get<Record<string, unknown>>(`agents/${a.id}`))!.value;
    expect(after).toEqual({ ...before, lastSeenAt: m.clock.now(), lastRequestId: expect.any(String) });
    expect(after.lastRequestId).not.toBe(before.lastRequestId);
    // The new ticket names the version just written: the next due write needs no read either.
    m.clock.advance(m.policy.livenessGranularity);
    spy.clear();
    expect((await other.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: res.body.ticket })).status).toBe(200);
    expect(spy.agentReads()).toBe(0);
  });

  it('without the record at hand, still carries an instruction given meanwhile: the patch conflicts and the record is read', async () => {
    const spy = spyStore();
    const m = await servingMaster({ store: spy.store });
    const other = await servingMaster({ store: spy.store, clock: m.clock });
    const a = await ticketed(m);
    expect((await m.api.operator('POST', `/agents/${a.id}/deactivate`, {})).status).toBeLessThan(300);
    m.clock.advance(m.policy.livenessGranularity);
    spy.clear();
    const res = await other.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(200);
    expect(res.body.deactivated).toBe(true);
    expect(spy.agentReads()).toBe(1);
    expect((await m.store.get<{ lastSeenAt: number; deactivated: boolean }>(`agents/${a.id}`))!.value).toMatchObject({ lastSeenAt: m.clock.now(), deactivated: true });
  });

  it('answers 200 after a patch whose outcome was lost only when the record holds its request id, else 503', async () => {
    const inner = createMemoryStore();
    let lose: 'applied' | 'not-applied' | undefined;
    const store: Store = {
      ...inner,
      async commit(writes) {
        const patching = writes.some((w) => 'patch' in w);
        if (!patching || !lose) return inner.commit(writes);
        if (lose === 'applied') await inner.commit(writes);
        lose = undefined;
        throw new StoreUnavailableError('the answer was lost', { outcome: 'unknown' });
      },
    };
    const m = await servingMaster({ store });
    const other = await servingMaster({ store, clock: m.clock });
    const a = await ticketed(m);
    m.clock.advance(m.policy.livenessGranularity);
    lose = 'applied';
    const res = await other.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(200);
    expect((await store.get<{ lastSeenAt: number }>(`agents/${a.id}`))!.value.lastSeenAt).toBe(m.clock.now());
    m.clock.advance(m.policy.livenessGranularity);
    lose = 'not-applied';
    expect((await other.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: res.body.ticket })).status).toBe(503);
  });

  it('never takes a secret the record no longer has: a rotated secret read afresh answers 401', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    const rotated = await m.call('POST', `/api/v1/agents/${a.id}/reregister`, { token: a.secret, body: { hostname: 'a1', rotateSecret: true } });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const before = await m.store.get(`agents/${a.id}`);
    m.clock.advance(m.policy.livenessGranularity);
    expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket })).status).toBe(401);
    expect(await m.store.get(`agents/${a.id}`)).toEqual(before);
  });
});

describe('registration with a generated id', () => {
  it('reads no agent record: the new id is expected absent', async () => {
    const spy = spyStore();
    const m = await servingMaster({ store: spy.store });
    await registerAgent(m); // the first creates the ticket keys
    spy.clear();
    await registerAgent(m);
    expect(spy.agentReads()).toBe(0);
    expect(spy.committed).toHaveLength(1);
  });
});

describe('the epoch an instance answers heartbeats with (rule 3)', () => {
  /** One instance that sweeps and one that only serves, on one store and one clock. */
  async function twoInstances() {
    const counter = countingStore(createMemoryStore());
    const sweeper = await servingMaster({ store: counter.store });
    const server = testMaster({ store: counter.store, clock: sweeper.clock });
    const agents = [];
    for (let i = 0; i < 4; i++) {
      const a = await registerAgent(server, { hostname: `a${i}` });
      const first = await server.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
      agents.push({ ...a, ticket: first.body.ticket as string });
    }
    return { counter, sweeper, server, agents };
  }

  it('is read about once a lease, not once per maxClockSkew: no other epoch can start while the lease it read holds', async () => {
    const { counter, sweeper, server, agents } = await twoInstances();
    let heartbeats = 0;
    for (let second = 1; second <= 120; second++) {
      sweeper.clock.advance(1_000);
      if (second % 5 === 0) {
        counter.phase = 'sweep';
        await sweeper.sweep();
      }
      counter.phase = 'server';
      for (const a of agents) {
        const res = await server.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
        expect(res.status).toBe(200);
        a.ticket = res.body.ticket;
        heartbeats++;
      }
    }
    const masterReads = counter.tally('server').gets - counter.tally('server').agentGets;
    // Every maxClockSkew (2 s) it would be 60 reads; once a lease (30 s), renewed every 5 s, about 5.
    expect(masterReads).toBeGreaterThan(0);
    expect(masterReads).toBeLessThanOrEqual(6);
    expect(heartbeats).toBe(480);
  });

  it('answers the new epoch as soon as one starts: the lease it read has passed by then', async () => {
    const { sweeper, server, agents } = await twoInstances();
    const a = agents[0]!;
    // The sweeper stops: the lease runs out and, past the skew, another instance starts an epoch.
    sweeper.clock.advance(sweeper.policy.masterLease - 1);
    expect((await server.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket })).status).toBe(200);
    sweeper.clock.advance(sweeper.policy.maxClockSkew + 2);
    const epoch = (await sweeper.sweep()).epoch;
    expect(epoch).toBeGreaterThan(a.epoch);
    const res = await server.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(409);
    expect(res.body.epoch).toBe(epoch);
  });
});
