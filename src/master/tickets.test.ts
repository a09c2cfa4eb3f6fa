// Tickets (DESIGN.md, rule 13): a heartbeat with a valid ticket is answered without reading the
// store while no lastSeenAt write is due; 409, 410 and an operator's instructions still reach the
// agent within one granularity; a ticket works only for the agent and secret it was issued to.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { TICKET_KEYS_KEY, TICKET_KEY_ROTATION } from '../registrar/tickets.ts';
import { countingStore, type CountingStore } from '../../bench/counting-store.ts';
import { failover, registerAgent, servingMaster, type TestMaster } from '../../test/support/master-http.ts';

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
    await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket }); // warms the master cache
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

  it('get 409 reregister at once after a new epoch', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    await failover(m);
    const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket });
    expect(res.status).toBe(409);
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
