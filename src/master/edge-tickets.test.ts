// The edge's answers to ticketed heartbeats (edge-tickets.ts) are the master's own, and it answers
// nothing a ticket does not cover.
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../../test/support/master.ts';
import { failover, registerAgent, servingMaster, type TestMaster } from '../../test/support/master-http.ts';
import { ANSWERED_BY, answerFromTicket, type TicketState } from './edge-tickets.ts';

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
  const state = async (): Promise<TicketState> => ({ epoch: (await m.registrar.core.currentMaster({ fresh: true })).value.epoch, keys: await m.registrar.tickets.verifyingKeys() });
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
