// Tickets (DESIGN.md, rule 13): what a signed ticket vouches for, and when it may answer a
// heartbeat without reading the store. Signing and keys live in src/registrar/tickets.ts.
import type { AgentRecord, Policy } from './types.ts';

/** What a ticket says about an agent, as of one version of its record. */
export interface TicketClaims {
  agentId: string;
  epoch: number;
  /** The record's version when the ticket was issued. */
  version: string;
  /** The last committed lastSeenAt. */
  lastSeenAt: number;
  /** No later than lastSeenAt + livenessGranularity: when the next lastSeenAt write falls due. */
  expiresAt: number;
  /** The operator's instructions as of that version, answered while the ticket holds. */
  deactivated: boolean;
  drain?: AgentRecord['drain'];
}

/**
 * The claims for a record just read or written, or undefined when a ticket must not be issued: only
 * an admitted agent heartbeating in its record's epoch gets one.
 */
export function ticketClaims(record: AgentRecord, version: string, p: Pick<Policy, 'livenessGranularity'>): TicketClaims | undefined {
  if (record.status !== 'admitted') return undefined;
  return {
    agentId: record.id,
    epoch: record.epoch,
    version,
    lastSeenAt: record.lastSeenAt,
    expiresAt: record.lastSeenAt + p.livenessGranularity,
    deactivated: record.deactivated,
    ...(record.drain ? { drain: record.drain } : {}),
  };
}

/**
 * Whether an expired ticket's due lastSeenAt write may be made on the version it names without
 * reading the record: the agent heartbeats in the ticket's epoch, the instance's current one, and
 * reports nothing. Then the record at that version, an admitted agent in this epoch, would take
 * exactly `livenessPatch`; if it changed since, the write conflicts and the record decides.
 */
export function ticketPatchesLiveness(claims: TicketClaims, hb: { epoch: number; drained?: boolean }, masterEpoch: number): boolean {
  return !hb.drained && claims.epoch === hb.epoch && claims.epoch === masterEpoch;
}

/** What a due heartbeat changes in a record that is otherwise as its ticket says (rule 2, rule 11). */
export const livenessPatch = (now: number, requestId: string) => ({ lastSeenAt: now, lastRequestId: requestId });

/** The claims after `livenessPatch` wrote the record at `version`: the same record, seen at `now`. */
export const renewedClaims = (claims: TicketClaims, version: string, now: number, p: Pick<Policy, 'livenessGranularity'>): TicketClaims => ({
  ...claims,
  version,
  lastSeenAt: now,
  expiresAt: now + p.livenessGranularity,
});

/**
 * Whether a verified ticket answers this heartbeat without the store: no lastSeenAt write is due
 * (the ticket has not expired), the agent reports nothing, and its epoch is the ticket's and the
 * instance's current one. So 409, 410 and an operator's instructions reach the agent within one
 * granularity: the ticket expires by then and the next heartbeat reads the record.
 */
export function ticketAnswers(claims: TicketClaims, hb: { epoch: number; drained?: boolean }, masterEpoch: number, now: number): boolean {
  return !hb.drained && claims.epoch === hb.epoch && claims.epoch === masterEpoch && now < claims.expiresAt;
}

/**
 * Whether a verified ticket settles this heartbeat as a 409 without the store: the agent heartbeats
 * in the ticket's epoch, an older one than the master's current epoch (epochs only grow, so a cache
 * up to maxClockSkew old still proves it), and the ticket holds. Until it expires the ticket vouches
 * for the record as of its version, so this is the answer the record would give, and it takes a
 * failover's first round of heartbeats off the store.
 */
export function ticketRefusesEpoch(claims: TicketClaims, hb: { epoch: number; drained?: boolean }, masterEpoch: number, now: number): boolean {
  return !hb.drained && claims.epoch === hb.epoch && hb.epoch < masterEpoch && now < claims.expiresAt;
}
