// Bearer credentials: join tokens (to register an agent), framework tokens (to register a framework),
// operator tokens (the operator API), agent and framework secrets (everything after registering).
// Tokens compare in constant time.
import type { Context } from 'hono';
import type { Token } from '../config.ts';
import { constantTimeEqual } from '../secrets.ts';
import { ApiError } from './errors.ts';

export interface Tokens {
  join: Token[];
  operator: Token[];
  /** Absent or empty: no framework may register (every registration is a 401). */
  framework?: Token[];
}

/**
 * Tokens as they are now. Where they are read from a secret store at run time (Lambda), `refresh`
 * reads them again when a request presents one that is unknown, so a rotation needs no redeploy.
 */
export interface TokenSource {
  current(): Tokens;
  refresh(): Promise<void>;
}

export const fixedTokens = (tokens: Tokens): TokenSource => ({ current: () => tokens, refresh: async () => {} });

/** The credential of an `Authorization: Bearer …` header, or undefined: one rule for the master and the edge. */
export const bearerToken = (header: string | null | undefined): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];

export function bearer(c: Context): string {
  const token = bearerToken(c.req.header('authorization'));
  if (token === undefined) throw new ApiError(401, 'unauthorized', 'missing bearer credentials');
  return token;
}

/** The label of the matching token, checking every token so timing tells nothing. */
function labelOf(tokens: Token[], presented: string): string | undefined {
  let label: string | undefined;
  for (const t of tokens) if (constantTimeEqual(t.token, presented)) label ??= t.label;
  return label;
}

export type Kind = 'join' | 'operator' | 'framework';
const KINDS: Kind[] = ['join', 'operator', 'framework'];

/** The operator token's label when the request presents one, without refusing anything. */
export function operatorLabel(c: Context, source: TokenSource): string | undefined {
  const token = bearerToken(c.req.header('authorization'));
  return token === undefined ? undefined : labelOf(source.current().operator, token);
}

/**
 * Requires a token of one kind; a token of the other kind is a 403, anything else a 401 (after the
 * tokens are read again, in case they were rotated). Returns its label.
 */
export async function requireToken(c: Context, source: TokenSource, kind: Kind): Promise<string> {
  return verifyToken(source, kind, bearer(c));
}

/** As requireToken, for a token presented some other way (the dashboard's login form). */
export async function verifyToken(source: TokenSource, kind: Kind, presented: string): Promise<string> {
  for (const fresh of [false, true]) {
    if (fresh) await source.refresh();
    const tokens = source.current();
    const label = labelOf(tokens[kind] ?? [], presented);
    if (label !== undefined) return label;
    const other = KINDS.find((k) => k !== kind && labelOf(tokens[k] ?? [], presented) !== undefined);
    if (other) throw new ApiError(403, 'forbidden', `a${other === 'operator' ? 'n' : ''} ${other} token cannot be used here`);
  }
  throw new ApiError(401, 'unauthorized', `invalid ${kind} token`);
}

/** An agent's (or a framework's) secret: tokens are the wrong kind; the registrar checks the secret itself. */
export function agentSecret(c: Context, source: TokenSource, holder: 'agent' | 'framework' = 'agent'): string {
  const presented = bearer(c);
  const tokens = source.current();
  if (KINDS.some((k) => labelOf(tokens[k] ?? [], presented) !== undefined)) {
    throw new ApiError(403, 'forbidden', `this takes the ${holder} secret, not a join, framework or operator token`);
  }
  return presented;
}
