// The edge's answers to ticketed heartbeats (edge-tickets.ts) are the master's own, and it answers
// nothing a ticket does not cover.
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../../test/support/master.ts';
import { failover, registerAgent, servingMaster, type TestMaster } from '../../test/support/master-http.ts';
import { ANSWERED_BY, answerFromTicket, edgeTicketState, type TicketState } from './edge-tickets.ts';

/** What the Durable Object hands the edge (src/worker.ts): the master as it is now, and the keys. */
async function stateOf(m: TestMaster): Promise<TicketState> {
  const { epoch, leaseExpiresAt } = (await m.registrar.core.currentMaster({ fresh: true })).value;
  return { epoch, leaseExpiresAt, keys: await m.registrar.tickets.verifyingKeys() };
}

const heartbeat = (id: string, secret: string, body: unknown, path = `/api/v1/agents/${id}/heartbeat`) =>
  new Request(`https://registrar.example${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function ticketed(m: TestMaster) {
  const a = await registerAgent(m);
  m.clock.advance(m.policy.heartbeatInterval);
  const res = await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
  return { ...a, ticket: res.body.ticket as string };
}

async function edge(m: TestMaster, request: Request) {
  const state = () => stateOf(m);
  return answerFromTicket(request, state, m.policy, () => m.clock.now());
}

describe('the edge answers ticketed heartbeats (rule 13)', () => {
  it('with the master’s own answer', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    m.clock.advance(m.policy.heartbeatInterval);
    const body = { epoch: a.epoch, ticket: a.ticket };
    const atEdge = await edge(m, heartbeat(a.id, a.secret, body));
    expect(atEdge?.headers.get(ANSWERED_BY)).toBe('edge');
    expect(await atEdge!.json()).toEqual((await m.api.heartbeat(a.id, a.secret, body)).body);
  });

  it('and leaves everything else to the registry', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    const b = await ticketed(m);
    const ok = { epoch: a.epoch, ticket: a.ticket };
    for (const [what, request] of [
      ['another agent’s secret', heartbeat(a.id, b.secret, ok)],
      ['another agent’s id', heartbeat(b.id, b.secret, ok)],
      ['a drained report', heartbeat(a.id, a.secret, { ...ok, drained: true })],
      ['another epoch', heartbeat(a.id, a.secret, { ...ok, epoch: a.epoch + 1 })],
      ['no ticket', heartbeat(a.id, a.secret, { epoch: a.epoch })],
      ['a forged ticket', heartbeat(a.id, a.secret, { ...ok, ticket: `${a.ticket.slice(0, -2)}AA` })],
      ['a body that is not JSON', heartbeat(a.id, a.secret, '{')],
      ['a body that is no object', heartbeat(a.id, a.secret, [ok])],
      ['a wrongly typed field', heartbeat(a.id, a.secret, { ...ok, drained: 'no' })],
      ['another path', heartbeat(a.id, a.secret, ok, `/api/v1/agents/${a.id}/reregister`)],
      ['an operator token', heartbeat(a.id, OPERATOR, ok)],
    ] as const) {
      expect(await edge(m, request), what).toBeUndefined();
    }
  });

  it('not once the ticket expired', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    m.clock.advance(m.policy.livenessGranularity);
    expect(await edge(m, heartbeat(a.id, a.secret, { epoch: a.epoch, ticket: a.ticket }))).toBeUndefined();
  });

  it('with 409 reregister after a new epoch, as the master answers it, while the ticket holds', async () => {
    const m = await servingMaster();
    const a = await ticketed(m);
    await failover(m);
    const body = { epoch: a.epoch, ticket: a.ticket };
    const atEdge = await edge(m, heartbeat(a.id, a.secret, body));
    expect(atEdge?.status).toBe(409);
    expect(atEdge?.headers.get(ANSWERED_BY)).toBe('edge');
    const fromMaster = await m.api.heartbeat(a.id, a.secret, body);
    expect(fromMaster.status).toBe(409);
    expect(await atEdge!.json()).toEqual(fromMaster.body);
    // Expired, the ticket vouches for nothing: the registry answers (409, 410 or an unknown agent).
    m.clock.advance(m.policy.livenessGranularity);
    expect(await edge(m, heartbeat(a.id, a.secret, body))).toBeUndefined();
  });
});

describe('the edge keeps the registry’s state', () => {
  // The edge's clock behind, level with and ahead of the sweeper's, by up to maxClockSkew.
  for (const offset of [-1, 0, 1]) {
    it(`for about a lease, and never past a new epoch (edge clock ${offset < 0 ? 'behind' : offset > 0 ? 'ahead' : 'level'})`, async () => {
      const m = await servingMaster();
      const skew = offset * m.policy.maxClockSkew;
      const state = edgeTicketState(m.policy, () => m.clock.now() + skew);
      let reads = 0;
      const read = () => {
        reads++;
        return stateOf(m);
      };
      const current = async () => (await m.store.get<{ epoch: number }>('master'))!.value.epoch;
      let epoch = await current();
      let changedAt = m.clock.now();
      const step = 500;
      const check = async (ms: number, sweeping: boolean) => {
        for (let t = 0; t < ms; t += step) {
          m.clock.advance(step);
          if (sweeping && (t + step) % m.policy.sweepInterval === 0) await m.sweep();
          const master = await current();
          if (master !== epoch) [epoch, changedAt] = [master, m.clock.now()];
          const kept = (await state(read))!.epoch;
          // The epoch the master has, or for at most maxClockSkew after it changed, the one before (rule 3).
          if (kept !== epoch) expect(m.clock.now() - changedAt).toBeLessThanOrEqual(m.policy.maxClockSkew);
        }
      };
      await check(120_000, true);
      // Every 500 ms for 120 s: 48 reads when kept only maxClockSkew (a read each 2.5 s), 4 or 5 when kept for the lease (30 s).
      expect(reads).toBeLessThanOrEqual(Math.ceil(120_000 / m.policy.masterLease) + 2);
      // The master stops; the first sweep after its lease lapsed starts a new epoch, and the edge has it.
      await check(m.policy.masterLease + m.policy.maxClockSkew, false);
      const before = await current();
      await check(m.policy.sweepInterval + m.policy.maxClockSkew, true);
      expect(epoch).toBeGreaterThan(before);
      expect((await state(read))!.epoch).toBe(epoch);
    });
  }

  it('reads again what it could not read', async () => {
    const m = await servingMaster();
    const state = edgeTicketState(m.policy, () => m.clock.now());
    let reads = 0;
    expect(await state(async () => (reads++, undefined))).toBeUndefined();
    expect((await state(async () => (reads++, stateOf(m))))!.epoch).toBeGreaterThan(0);
    expect(reads).toBe(2);
  });
});
