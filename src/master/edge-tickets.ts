// What an edge in front of the registry (the Cloudflare Worker before its one Durable Object) can
// answer without it: a heartbeat whose ticket answers it (DESIGN.md, rule 13 and "Runtimes"). The
// answer is the master's own, so a client cannot tell who gave it; anything else goes on.
import type { Policy } from '../registry/index.ts';
import { instructionsFor, otherEpoch, ticketAnswers, ticketRefusesEpoch } from '../registry/index.ts';
import { type TicketKey, verifyTicket } from '../registrar/tickets.ts';
import { UUID_PATTERN, hashSecret } from '../secrets.ts';
import { heartbeatAnswer } from './agent-routes.ts';
import { bearerToken } from './auth.ts';
import { refusalAnswer } from './errors.ts';
import { heartbeatBody } from './schemas.ts';

/** What the edge needs from the registry: the epoch, the lease it holds under, and the verifying keys. */
export interface TicketState {
  epoch: number;
  /** The `master` record's lease when this was read: no other epoch can start before it, by any clock within maxClockSkew. */
  leaseExpiresAt: number;
  keys: TicketKey[];
}

/**
 * The edge's copy of the registry's state, kept as the registrar keeps its epoch (core.currentEpoch):
 * while the lease it was read under holds by the edge's clock, no other epoch exists (a new one needs
 * a sweeper's clock past the latest lease by more than maxClockSkew), so the copy is read again
 * about once a lease instead of every maxClockSkew. The keys are kept no longer than the registrar
 * keeps them (a granularity); a ticket signed by a newer key only goes on to the registry.
 */
export function edgeTicketState(policy: Pick<Policy, 'maxClockSkew' | 'livenessGranularity'>, now: () => number) {
  let kept: { value: TicketState; readAt: number } | undefined;
  const holds = (k: { value: TicketState; readAt: number }, at: number) =>
    at - k.readAt <= policy.maxClockSkew || (at <= k.value.leaseExpiresAt && at - k.readAt <= policy.livenessGranularity);
  return async (read: () => Promise<TicketState | undefined>): Promise<TicketState | undefined> => {
    const at = now();
    if (kept && holds(kept, at)) return kept.value;
    const value = await read();
    if (value) kept = { value, readAt: at };
    return value;
  };
}

const HEARTBEAT_PATH = /^\/api\/v1\/agents\/([^/]+)\/heartbeat$/;

/** Names the answers the edge gave, for logs and tests. */
export const ANSWERED_BY = 'registrar-answered-by';

/**
 * The master's answer to a heartbeat that a valid ticket answers (200, or 409 when it comes from an
 * older epoch than the current one), or undefined when the registry must: a body that is not a
 * ticketed heartbeat, a ticket that does not verify or has expired, a drained report, an epoch the
 * ticket does not name, or no state at hand.
 */
export async function answerFromTicket(
  request: Request,
  state: () => Promise<TicketState | undefined>,
  policy: Pick<Policy, 'heartbeatInterval' | 'agentTimeout'>,
  now: () => number,
): Promise<Response | undefined> {
  if (request.method !== 'POST') return undefined;
  const id = HEARTBEAT_PATH.exec(new URL(request.url).pathname)?.[1];
  const secret = bearerToken(request.headers.get('authorization'));
  if (id === undefined || !UUID_PATTERN.test(id) || secret === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await request.clone().text());
  } catch {
    return undefined;
  }
  const hb = heartbeatBody.safeParse(json);
  if (!hb.success || hb.data.ticket === undefined || hb.data.drained) return undefined;
  const current = await state();
  if (!current) return undefined;
  const claims = verifyTicket(current.keys, hb.data.ticket, id.toLowerCase(), hashSecret(secret));
  const at = now();
  if (!claims) return undefined;
  if (ticketRefusesEpoch(claims, hb.data, current.epoch, at)) {
    // A failover's first round of heartbeats: each would reach the registry only to learn the new epoch.
    const [status, refusal] = refusalAnswer(otherEpoch(current.epoch));
    return Response.json(refusal, { status, headers: { [ANSWERED_BY]: 'edge' } });
  }
  if (!ticketAnswers(claims, hb.data, current.epoch, at)) return undefined;
  const answer = heartbeatAnswer(policy, { epoch: current.epoch, instructions: instructionsFor(claims, at), ticket: hb.data.ticket });
  return Response.json(answer, { headers: { [ANSWERED_BY]: 'edge' } });
}
