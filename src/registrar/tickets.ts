// Signing and verifying tickets (DESIGN.md, rule 13). A ticket is `<key id>.<claims>.<mac>`: the
// claims as base64url JSON, and an HMAC-SHA256 over the key id, the claims and the agent's secret
// hash, so a ticket only works with the secret it was issued to. The keys are kept in the registry
// (one small record every instance reads at most once per granularity) unless configured.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { TicketClaims } from '../registry/ticket.ts';
import { ConflictError, type Version } from '../store.ts';
import type { RegistrarCore } from './core.ts';

export const TICKET_KEYS_KEY = 'ticket-keys';

/** A key signs for this long, then a new one does; the previous one still verifies until the next rotation. */
export const TICKET_KEY_ROTATION = 30 * 24 * 60 * 60 * 1000;

export interface TicketKey {
  id: string;
  secret: string;
  createdAt: number;
}

/** The registry's record: the newest key first, then the one before it. */
interface TicketKeysRecord {
  keys: TicketKey[];
}

const keyFromSecret = (secret: string): TicketKey => ({ id: createHash('sha256').update(secret).digest('base64url').slice(0, 8), secret, createdAt: 0 });

function mac(key: TicketKey, claims: string, secretHash: string): Buffer {
  return createHmac('sha256', key.secret).update(`${key.id}.${claims}.${secretHash}`).digest();
}

/** The id of the key a ticket names, if it is shaped like a ticket. */
export function ticketKeyId(ticket: string): string | undefined {
  const parts = ticket.split('.');
  return parts.length === 3 && parts.every(Boolean) ? parts[0] : undefined;
}

/** The claims of a genuine ticket, signed by one of these keys for this agent and secret hash. */
export function verifyTicket(keys: TicketKey[], ticket: string, agentId: string, secretHash: string): TicketClaims | undefined {
  const id = ticketKeyId(ticket);
  const key = id === undefined ? undefined : keys.find((k) => k.id === id);
  if (!key) return undefined;
  const [, body, signature] = ticket.split('.') as [string, string, string];
  const expected = mac(key, body, secretHash);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as TicketClaims;
  return claims.agentId === agentId ? claims : undefined;
}

export interface Tickets {
  /** A ticket for these claims, bound to the agent's secret hash; undefined when no key is at hand. */
  issue(claims: TicketClaims, secretHash: string): Promise<string | undefined>;
  /** The claims of a genuine ticket issued to this agent and secret, or undefined. */
  verify(ticket: string, agentId: string, secretHash: string): Promise<TicketClaims | undefined>;
  /** The keys that verify tickets now (read-only: never creates them), for a front end that answers ticketed heartbeats. */
  verifyingKeys(): Promise<TicketKey[]>;
}

/**
 * `configured`: signing secrets from configuration, the first signs and all verify (rotate by
 * putting the new one first and dropping the old one after a granularity). Without them, the
 * registry keeps the keys and the first instance to need one creates it.
 */
export function createTickets(core: RegistrarCore, configured: string[] = []): Tickets {
  const { store, clock, policy } = core;
  const fixed = configured.map(keyFromSecret);
  let cached: { keys: TicketKey[]; readAt: number } | undefined;

  /**
   * The registry's keys. Issuing creates or rotates them when due (a conditional write: one instance
   * wins); verifying only reads, so a rejected heartbeat never changes the registry.
   */
  async function load(create: boolean): Promise<TicketKey[]> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const item = await core.withRetry(() => store.get<TicketKeysRecord>(TICKET_KEYS_KEY));
      const now = clock.now();
      const newest = item?.value.keys[0];
      if (!create || (newest && now - newest.createdAt < TICKET_KEY_ROTATION)) return item?.value.keys ?? [];
      const keys = [{ id: core.entropy.id().slice(0, 8), secret: core.entropy.secret(), createdAt: now }, ...(newest ? [newest] : [])];
      const expect: Version | 'absent' = item?.version ?? 'absent';
      try {
        await core.withRetry(() => store.commit([{ key: TICKET_KEYS_KEY, expect, put: { keys } satisfies TicketKeysRecord }]));
        return keys;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err; // another instance created or rotated them: read again
      }
    }
    throw new Error('the ticket keys kept changing');
  }

  async function keys(opts: { fresh?: boolean; create?: boolean } = {}): Promise<TicketKey[]> {
    if (fixed.length > 0) return fixed;
    const now = clock.now();
    const maxAge = opts.fresh ? policy.maxClockSkew : policy.livenessGranularity;
    const due = !cached || now - cached.readAt > maxAge || (opts.create && cached.keys.length === 0);
    if (due) cached = { keys: await load(opts.create ?? false), readAt: now };
    return cached!.keys;
  }

  return {
    async issue(claims, secretHash) {
      try {
        const [key] = await keys({ create: true });
        if (!key) return undefined;
        const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
        return `${key.id}.${body}.${mac(key, body, secretHash).toString('base64url')}`;
      } catch {
        return undefined; // the heartbeat succeeded; the next one reads the store instead
      }
    },

    async verify(ticket, agentId, secretHash) {
      const id = ticketKeyId(ticket);
      if (id === undefined) return undefined;
      // A key another instance created or rotated in since this one last looked: read them again.
      const cached = await keys();
      return verifyTicket(cached.some((k) => k.id === id) ? cached : await keys({ fresh: true }), ticket, agentId, secretHash);
    },

    verifyingKeys: () => keys(),
  };
}
