// Generated requests for the fuzzer: a symbolic spec (endpoint, target id, credentials, body, query)
// drawn by fast-check, made concrete against a case's world when it is sent. Specs name agents (and
// frameworks) by index (`Ref`), so a counterexample reads as "agent 3's secret", not as a UUID of one
// run. The framework endpoints' arbitraries are in framework-requests.ts, over the helpers here.
import fc from 'fast-check';
import { FRAMEWORK, JOIN, JOIN_RACK_9, OPERATOR } from '../support/master.ts';
import type { FrameworkEndpoint } from './framework-requests.ts';
import type { KnownAgent, World } from './world.ts';

export const MAX_BODY_BYTES = 32 * 1024;

export const ENDPOINTS = [
  'register', 'reregister', 'heartbeat', 'leave', 'list', 'get', 'gone', 'drain', 'deactivate', 'reactivate',
  'master', 'release', 'registry', 'health', 'mesos', 'slaves', 'events', 'metrics', 'odd',
] as const;
export type AgentEndpoint = (typeof ENDPOINTS)[number];
export type Endpoint = AgentEndpoint | FrameworkEndpoint;

/** Which credential an endpoint takes: `framework` is the framework token, `scheduler` a framework's own secret. */
export type Need = 'join' | 'agent' | 'framework' | 'scheduler' | 'operator' | 'anyone' | 'unknown';
const NEED: Record<AgentEndpoint, Need> = {
  register: 'join',
  reregister: 'agent',
  heartbeat: 'agent',
  leave: 'agent',
  list: 'operator',
  get: 'operator',
  gone: 'operator',
  drain: 'operator',
  deactivate: 'operator',
  reactivate: 'operator',
  master: 'operator',
  release: 'operator',
  registry: 'operator',
  health: 'anyone',
  mesos: 'operator',
  slaves: 'operator',
  events: 'operator',
  metrics: 'operator',
  odd: 'unknown',
};

/** Which of the world's lists a Ref or a target indexes. */
export type Holders = 'agents' | 'frameworks';

/** Something in the case's world (an agent's, or a framework's), resolved when the request is made concrete. */
export class Ref {
  readonly what: 'id' | 'upperId' | 'secret' | 'epoch' | 'machine' | 'idPrefix' | 'cursor' | 'ticket';
  readonly index: number;
  readonly delta: number;
  readonly of: Holders;
  constructor(what: Ref['what'], index = 0, delta = 0, of: Holders = 'agents') {
    this.what = what;
    this.index = index;
    this.delta = delta;
    this.of = of;
  }
  [fc.toStringMethod]() {
    return `ref(${this.what}, ${this.index}${this.delta ? `, ${this.delta}` : ''}${this.of === 'agents' ? '' : `, ${this.of}`})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Strings: ASCII mostly, any code point, lone surrogates, NUL and other controls, emoji, combining
// marks, bidi overrides, and the characters that mean something in paths, queries and JSON.

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const special = fc.constantFrom(
  '\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\u00a0', '\u00e9', 'e\u0301', '\u200b', '\u202e', '\u2028', '\ufeff', '\uffff',
  '\u{1f600}', '\u{1f469}\u200d\u{1f469}\u200d\u{1f467}', '\u{10ffff}', '"', '\\', '/', '%', '%00', '%2F', '%zz', '?', '#', '&', '=', ':', ' ', '\n', '\r', '\t', '..', '../',
);
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 2, arbitrary: special },
);
export const text = (minLength = 0, maxLength = 24) => fc.string({ unit, minLength, maxLength });
/** Long strings of one character: ASCII, two-byte, four-byte, NUL (six bytes as JSON), a lone surrogate. */
const huge = fc
  .tuple(fc.constantFrom('a', '\u00e9', '\u{1f600}', '\u0000', '\ud800', '\u0001'), fc.oneof(fc.integer({ min: 129, max: 300 }), fc.integer({ min: 1000, max: 40_000 })))
  .map(([c, n]) => c.repeat(n));
const base64url43 = fc.stringMatching(/^[A-Za-z0-9_-]{43,64}$/);

/** Percent-encodes every byte but unreserved ASCII; a lone surrogate becomes its (invalid) 3 UTF-8 bytes. */
export function pctEncode(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9_~-]$/.test(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    const bytes = cp >= 0xd800 && cp <= 0xdfff ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)] : [...new TextEncoder().encode(ch)];
    for (const b of bytes) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Targets: the agent (or framework) id in a path.

export type Target =
  | { t: 'agent'; index: number; form: 'lower' | 'upper' | 'pct' }
  | { t: 'fresh'; id: string }
  | { t: 'near'; index: number; edit: 'chop' | 'extra' | 'braces' | 'urn' | 'nonhex' | 'version0' | 'space' | 'nil' }
  | { t: 'junk'; text: string; encode: boolean };

export const agentIndex = fc.nat({ max: 15 });
export const targetArb: fc.Arbitrary<Target> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ t: fc.constant('agent' as const), index: agentIndex, form: fc.constantFrom('lower' as const, 'lower' as const, 'upper' as const, 'pct' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fresh' as const), id: fc.uuid() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('near' as const),
      index: agentIndex,
      edit: fc.constantFrom('chop' as const, 'extra' as const, 'braces' as const, 'urn' as const, 'nonhex' as const, 'version0' as const, 'space' as const, 'nil' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('junk' as const),
      text: fc.oneof(text(0, 40), huge.map((s) => s.slice(0, 5000)), fc.constantFrom('.', '..', '%2e%2e', '%', '%zz', '%00', 'agents', 'master', '00000000-0000-0000-0000-000000000000')),
      encode: fc.boolean(),
    }),
  },
);

function nearId(id: string, edit: Extract<Target, { t: 'near' }>['edit']): string {
  switch (edit) {
    case 'chop':
      return id.slice(0, -1);
    case 'extra':
      return `${id}0`;
    case 'braces':
      return `{${id}}`;
    case 'urn':
      return `urn:uuid:${id}`;
    case 'nonhex':
      return `${id.slice(0, -1)}g`;
    case 'version0':
      return `${id.slice(0, 14)}0${id.slice(15)}`;
    case 'space':
      return ` ${id}`;
    case 'nil':
      return '00000000-0000-0000-0000-000000000000';
  }
}

// ---------------------------------------------------------------------------------------------
// Credentials.

export type TokenSpec =
  /** The credential the endpoint takes: the join, framework or operator token, the target agent's (framework's) secret. */
  | { k: 'right' }
  | { k: 'none' }
  | { k: 'malformed'; header: string }
  | { k: 'join' | 'join9' | 'operator' | 'joinCase' | 'operatorCase' | 'framework' }
  | { k: 'own' }
  /** Another agent's or framework's secret. */
  | { k: 'other'; offset: number }
  | { k: 'forged'; token: string }
  | { k: 'near'; base: 'join' | 'operator' | 'framework' | 'own'; edit: 'suffix' | 'chop' | 'flip' | 'upper' };

const MALFORMED = ['', 'Basic am9pbjpqb2lu', 'Bearer', 'bearer', JOIN, OPERATOR, `Token ${OPERATOR}`, `Bearer: ${JOIN}`, `Bearer ${JOIN} ${JOIN}`, `Bearer ${OPERATOR} x`, 'Bearer "x"  y'];
const latin1 = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));

export const tokenArb: fc.Arbitrary<TokenSpec> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ k: 'right' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('malformed' as const), header: fc.constantFrom(...MALFORMED) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom('join' as const, 'join9' as const, 'operator' as const, 'joinCase' as const, 'operatorCase' as const, 'framework' as const) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'own' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('other' as const), offset: fc.nat({ max: 31 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('forged' as const),
      token: fc.oneof(base64url43, fc.string({ unit: latin1, minLength: 1, maxLength: 80 }), fc.constantFrom('sha256:x', 'null', 'undefined', '0')),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('near' as const),
      base: fc.constantFrom('join' as const, 'operator' as const, 'framework' as const, 'own' as const),
      edit: fc.constantFrom('suffix' as const, 'chop' as const, 'flip' as const, 'upper' as const),
    }),
  },
);

// ---------------------------------------------------------------------------------------------
// Bodies.

export type BodySpec =
  | { b: 'none' }
  | { b: 'json'; value: unknown; wrap?: 'bom' | 'trailing' | 'truncate'; cut?: number }
  | { b: 'text'; text: string }
  | { b: 'bytes'; bytes: Uint8Array }
  /** Exactly `size` bytes: a JSON field or whitespace filling it, or junk. */
  | { b: 'big'; size: number; fill: 'hostname' | 'reason' | 'multibyte' | 'spaces' | 'junk'; value?: unknown };

const junkKey = fc.oneof(text(0, 12), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'a'.repeat(129)));
const deep = fc.integer({ min: 10, max: 3000 }).map((n) => JSON.parse(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`));
export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, -0, 0.5, 1.5, 2 ** 31, 2 ** 53 + 2, 1e308, 65536, -65536, Number.MAX_SAFE_INTEGER),
  text(0, 30),
  huge,
  fc.array(fc.oneof(fc.integer(), text(0, 5)), { maxLength: 4 }),
  fc.dictionary(junkKey, fc.oneof(fc.integer(), text(0, 5)), { maxKeys: 4 }),
  deep,
);

/** One change to a well-formed body: a field (or a key under resources/attributes) set to junk, or removed. */
interface Mutation {
  where: 'top' | 'resources' | 'attributes';
  key: string;
  value: unknown;
  remove: boolean;
}
const FIELDS = [
  'hostname', 'port', 'resources', 'attributes', 'version', 'machineId', 'agentId', 'secret', 'previousSecret', 'rotateSecret',
  'epoch', 'ticket', 'drained', 'reason', 'maxGracePeriodSeconds', 'markGone', 'dryRun',
  'name', 'user', 'roles', 'principal', 'webuiUrl', 'capabilities', 'failoverTimeoutSeconds', 'frameworkId',
];
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  where: fc.constantFrom('top' as const, 'top' as const, 'top' as const, 'resources' as const, 'attributes' as const),
  key: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: junkKey }),
  value: junkValue,
  remove: fc.boolean(),
});

function mutate(value: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  let out = { ...value };
  for (const m of mutations) {
    if (m.where === 'top') {
      if (m.remove) {
        const { [m.key]: _removed, ...rest } = out;
        out = rest;
      } else {
        out = { ...out, [m.key]: m.value };
      }
      continue;
    }
    const inner = typeof out[m.where] === 'object' && out[m.where] !== null && !Array.isArray(out[m.where]) ? (out[m.where] as Record<string, unknown>) : {};
    const { [m.key]: _removed, ...rest } = inner;
    out = { ...out, [m.where]: m.remove ? rest : { ...inner, [m.key]: m.value } };
  }
  return out;
}

const MALFORMED_JSON = [
  '{', '}', '{"hostname":', 'nul', '{"hostname":"a1",}', "{'hostname':'a1'}", '{"hostname":"a1"}x', '{"epoch":NaN}', '{"epoch":1e309}', '{"epoch":-0}',
  '{"epoch":1.0}', '{"epoch":9007199254740993}', '{"epoch":1e2}', '{"hostname":"a\u0000b"}', '{"hostname":"\\ud800"}', '{"hostname":"\\udfff\\ud800"}',
  '{"__proto__":{"hostname":"x"}}', '{"hostname":"a1","hostname":5}', '{"hostname":"a1","resources":{"__proto__":1}}', '   ', '\n', '\t{}\t',
  '/* c */{}', '{"hostname":"a1"}\u0000', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`, `${'['.repeat(16_000)}${']'.repeat(16_000)}`,
  `{"hostname":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, `{"resources":{"cpus":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}}`, '[', '"', '\\', '\ufeff',
];
const nonObjectJson = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), text(0, 10), fc.array(fc.integer(), { maxLength: 3 }), fc.constant([{ hostname: 'a1' }]));
const bigSize = fc.oneof(
  fc.constantFrom(MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, MAX_BODY_BYTES + 2),
  fc.integer({ min: MAX_BODY_BYTES + 1, max: 300_000 }),
  fc.integer({ min: 20_000, max: MAX_BODY_BYTES }),
  fc.constant(1024 * 1024),
);

/** A body for an endpoint: well-formed mostly, else broken in one of many ways. */
export function bodyArb(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<BodySpec> {
  return fc.oneof(
    { weight: 10, arbitrary: valid.map((value): BodySpec => ({ b: 'json', value })) },
    { weight: 6, arbitrary: fc.tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([v, ms]): BodySpec => ({ b: 'json', value: mutate(v, ms) })) },
    { weight: 1, arbitrary: fc.constant<BodySpec>({ b: 'none' }) },
    {
      weight: 2,
      arbitrary: fc.oneof(fc.constantFrom(...MALFORMED_JSON), text(0, 60)).map((t): BodySpec => ({ b: 'text', text: t })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.constantFrom('bom' as const, 'trailing' as const, 'truncate' as const), fc.nat())
        .map(([value, wrap, cut]): BodySpec => ({ b: 'json', value, wrap, cut })),
    },
    { weight: 1, arbitrary: nonObjectJson.map((value): BodySpec => ({ b: 'json', value })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes): BodySpec => ({ b: 'bytes', bytes })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(bigSize, fc.constantFrom('hostname' as const, 'reason' as const, 'multibyte' as const, 'spaces' as const, 'junk' as const), valid)
        .map(([size, fill, value]): BodySpec => ({ b: 'big', size, fill, value })),
    },
  );
}

// Well-formed bodies, per endpoint (they may still be refused: a machine in use, a gone agent...).
export const reason = fc.oneof(text(0, 40), fc.constantFrom('maintenance', 'x'.repeat(1024), 'x'.repeat(1025), '\u0001'.repeat(200), '\u00e9'.repeat(600)));
const machine = fc.oneof(
  { weight: 3, arbitrary: agentIndex.map((i) => new Ref('machine', i)) },
  { weight: 1, arbitrary: fc.oneof(text(1, 12), fc.constantFrom('m\ud800', 'x'.repeat(257), '\u{1f600}'.repeat(65))) },
);
const infoFields = {
  hostname: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('a1', 'host-1', 'h.example.com') }, { weight: 2, arbitrary: text(1, 40) }),
  port: fc.oneof(fc.constant(5051), fc.integer({ min: 0, max: 65535 })),
  resources: fc.dictionary(fc.oneof(fc.constantFrom('cpus', 'mem', 'disk'), text(1, 8)), fc.oneof(fc.integer({ min: 0, max: 64 }), fc.double({ noNaN: true, noDefaultInfinity: true }), text(0, 8)), { maxKeys: 3 }),
  attributes: fc.dictionary(fc.oneof(fc.constantFrom('rack', 'zone'), text(1, 8)), fc.oneof(fc.constantFrom('r1', 'r2'), text(0, 8)), { maxKeys: 3 }),
  version: fc.oneof(fc.constantFrom('1.0.0', ''), text(0, 10)),
  machineId: machine,
};
const info = fc.record(infoFields, { requiredKeys: ['hostname'] });
/**
 * A registration's chosen id and secret (`agentId` or `frameworkId`): none, a known one's own (the
 * lowercase or uppercase id), a known id with another secret (a forged one, or another agent's or
 * framework's), a fresh pair, a fresh id with a known secret, or half a pair.
 */
export function credentialsArb(idKey: 'agentId' | 'frameworkId', of: Holders): fc.Arbitrary<Record<string, unknown>> {
  const ref = (what: Ref['what'], i: number, holders = of) => new Ref(what, i, 0, holders);
  const elsewhere: Holders = of === 'agents' ? 'frameworks' : 'agents';
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({}) },
    { weight: 2, arbitrary: agentIndex.map((i) => ({ [idKey]: ref('id', i), secret: ref('secret', i) })) },
    { weight: 1, arbitrary: agentIndex.map((i) => ({ [idKey]: ref('upperId', i), secret: ref('secret', i) })) },
    { weight: 1, arbitrary: fc.tuple(agentIndex, base64url43).map(([i, secret]) => ({ [idKey]: ref('id', i), secret })) },
    { weight: 1, arbitrary: fc.tuple(agentIndex, agentIndex, fc.boolean()).map(([i, j, same]) => ({ [idKey]: ref('id', i), secret: ref('secret', j, same ? of : elsewhere) })) },
    { weight: 2, arbitrary: fc.tuple(fc.uuid(), base64url43).map(([id, secret]) => ({ [idKey]: id, secret })) },
    { weight: 1, arbitrary: fc.tuple(fc.uuid(), agentIndex).map(([id, i]) => ({ [idKey]: id, secret: ref('secret', i) })) },
    { weight: 1, arbitrary: fc.oneof(fc.uuid().map((id) => ({ [idKey]: id })), base64url43.map((secret) => ({ secret }))) },
  );
}
const credentials = credentialsArb('agentId', 'agents');
const previousSecret = fc.option(fc.oneof(agentIndex.map((i) => new Ref('secret', i)), base64url43, text(0, 20)), { nil: undefined });
const registerValid = fc
  .tuple(info, credentials, previousSecret)
  .map(([i, c, p]) => ({ ...i, ...c, ...(p === undefined ? {} : { previousSecret: p }) }) as Record<string, unknown>);
const reregisterValid = fc.tuple(info, fc.option(fc.boolean(), { nil: undefined })).map(([i, r]) => ({ ...i, ...(r === undefined ? {} : { rotateSecret: r }) }) as Record<string, unknown>);
export const epoch = fc.oneof(
  { weight: 6, arbitrary: fc.constant(new Ref('epoch')) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1).map((d) => new Ref('epoch', 0, d)) },
  { weight: 1, arbitrary: fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2 ** 53)) },
);
const ticket = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(agentIndex, fc.nat(1)).map(([i, d]) => new Ref('ticket', i, d)) },
  { weight: 2, arbitrary: fc.oneof(text(0, 40), base64url43, fc.constantFrom('x'.repeat(2048), 'x'.repeat(2049), 'v1.eyJhZ2VudCI6IngifQ.sig', 'abcdefgh.e30.AAAA', '')) },
);
const heartbeatValid = fc.record({ epoch, ticket, drained: fc.boolean() }, { requiredKeys: ['epoch'] }) as fc.Arbitrary<Record<string, unknown>>;
export const actionValid = fc.record({ reason }, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
/** The Mesos v1 operator API's calls (POST /api/v1): the supported ones about real or odd agents, and others. */
const mesosAgent = fc.oneof(agentIndex.map((i) => ({ value: new Ref('id', i) })), fc.record({ value: text(0, 40) }), fc.constant({}));
const mesosValid = fc.oneof(
  fc.constantFrom('GET_HEALTH', 'GET_MASTER', 'GET_AGENTS', 'GET_FRAMEWORKS', 'SUBSCRIBE', '', 'get_agents').map((type) => ({ type })),
  mesosAgent.map((agent_id) => ({ type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id } })),
  fc.tuple(fc.constantFrom('DEACTIVATE_AGENT', 'REACTIVATE_AGENT'), mesosAgent).map(([type, agent_id]) => ({ type, [type.toLowerCase()]: { agent_id } })),
  fc.tuple(mesosAgent, fc.option(fc.oneof(fc.record({ nanoseconds: fc.oneof(fc.nat(), fc.constant(-1), fc.constant('1e18')) }), fc.record({ seconds: fc.integer() })), { nil: undefined }), fc.option(fc.boolean(), { nil: undefined }))
    .map(([agent_id, max_grace_period, mark_gone]) => ({ type: 'DRAIN_AGENT', drain_agent: { agent_id, ...(max_grace_period ? { max_grace_period } : {}), ...(mark_gone === undefined ? {} : { mark_gone }) } })),
) as fc.Arbitrary<Record<string, unknown>>;
const drainValid = fc.record(
  {
    reason,
    maxGracePeriodSeconds: fc.oneof(fc.nat({ max: 365 * 86_400 }), fc.double({ min: 0, max: 1000, noNaN: true }), fc.constantFrom(365 * 86_400 + 1, -1)),
    markGone: fc.boolean(),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Record<string, unknown>>;
const releaseValid = fc.record({ reason, dryRun: fc.boolean() }, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;

// ---------------------------------------------------------------------------------------------
// Queries for GET /api/v1/agents.

type QueryValue = string | Ref;
export interface QueryParam {
  name: string;
  value: QueryValue;
  /** Percent-encoded (else inserted raw: `&`, `#`, `%` and all). */
  encode: boolean;
}
export const cursorOf = (position: unknown) => Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
const queryValues: Record<string, fc.Arbitrary<QueryValue>> = {
  status: fc.oneof(fc.constantFrom('admitted', 'unreachable', 'gone', 'ADMITTED', 'active', 'disconnected', 'completed', 'Completed', '', 'x'), text(0, 8)),
  hostname: fc.oneof(fc.constantFrom('host-1', 'a1', '', 'x'.repeat(256)), text(0, 20)),
  machineId: fc.oneof(fc.constantFrom('machine-0', 'm\ud800', 'x'.repeat(257), ''), text(0, 20)),
  idPrefix: fc.oneof(
    fc.tuple(agentIndex, fc.nat({ max: 36 })).map(([i, n]) => new Ref('idPrefix', i, n)),
    fc.constantFrom('A0', 'zz', '-', '', 'f'.repeat(65), '../', '%'),
    text(0, 10),
  ),
  attribute: fc.oneof(fc.constantFrom('rack:r1', 'rack:', ':x', 'nocolon', 'a:b:c', ''), text(0, 12)),
  lastSeenBefore: fc.oneof(
    fc.constantFrom('0', '1767225600000', '2026-01-01T00:00:00Z', 'yesterday', '1e400', '9'.repeat(400), '-1', '', 'NaN', '2026-13-45'),
    fc.nat().map(String),
    text(0, 12),
  ),
  drain: fc.oneof(fc.constantFrom('draining', 'drained', 'none', 'x', ''), text(0, 6)),
  pending: fc.oneof(fc.constantFrom('true', 'false', '1', 'yes', ''), text(0, 6)),
  // The event stream's position and the legacy endpoint's filter.
  since: fc.oneof(fc.constantFrom('0', '1767225600000', '000000000000000-x-0', '-1', '', '9'.repeat(40)), fc.nat().map(String), text(0, 20)),
  slave_id: fc.oneof(agentIndex.map((i) => new Ref('id', i)), text(0, 20)),
  cursor: fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.nat({ max: 20 }), fc.boolean()).map(([i, agents]) => new Ref('cursor', i, 0, agents ? 'agents' : 'frameworks')) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.constantFrom({ after: 'agents/' }, { after: 'frameworks/' }, { after: 'frameworks/~' }, { after: 'master' }, { after: '' }, { after: 'zzz' }, { after: 5 }, [], 'after', null, { after: 'x'.repeat(513) }, { after: 'x'.repeat(1100) }),
          text(0, 20).map((t) => ({ after: `agents/${t}` })),
          fc.dictionary(junkKey, junkValue, { maxKeys: 2 }),
        )
        .map(cursorOf),
    },
    { weight: 2, arbitrary: fc.oneof(text(0, 20), fc.constantFrom('', '====', 'x'.repeat(4096), 'x'.repeat(4097), `${'A'.repeat(16_000)}`)) },
  ),
  limit: fc.oneof(fc.constantFrom('1', '2', '1000', '1001', '0', '-1', '1.5', 'abc', '1e3', ' 5', '0x10', '', 'Infinity', 'NaN', '9'.repeat(400)), fc.integer().map(String)),
};
/** A query of the named parameters (encoded, or rarely raw) and junk ones. */
export function queryOf(names: string[]): fc.Arbitrary<QueryParam[]> {
  const param = (encode: boolean) => fc.constantFrom(...names).chain((name) => fc.record({ name: fc.constant(name), value: queryValues[name]!, encode: fc.constant(encode) }));
  return fc.array(
    fc.oneof(
      { weight: 10, arbitrary: param(true) },
      { weight: 1, arbitrary: param(false) },
      { weight: 1, arbitrary: fc.record({ name: text(0, 8), value: text(0, 8) as fc.Arbitrary<QueryValue>, encode: fc.boolean() }) },
    ),
    { maxLength: 5 },
  );
}
const queryArb = queryOf(Object.keys(queryValues));

// ---------------------------------------------------------------------------------------------
// Requests.

export interface RequestSpec {
  endpoint: Endpoint;
  target: Target;
  token: TokenSpec;
  body: BodySpec;
  query: QueryParam[];
  contentType: string | undefined;
  /** Send a (correct) Content-Length header; without it the body arrives as a stream of unknown length. */
  contentLength: boolean;
  /** For `odd`: a method and a path built from segments. */
  method: string;
  segments: (string | Ref)[];
}
/** Time passes and the sweeper runs, between two requests. */
export interface Tick {
  tick: number;
}
export type Step = RequestSpec | Tick;

const oddMethod = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND', 'FOO');
const oddSegment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('api', 'v1', 'agents', 'master', 'recovery', 'release', 'registry', 'health', 'heartbeat', 'reregister', 'gone', 'drain', 'frameworks') },
  { weight: 2, arbitrary: fc.constantFrom('..', '.', '', 'API', 'v2', '%2e%2e', '%2F', '%00', '%', 'agents%2F', 'Agents', 'HEARTBEAT', 'health?x=1', '#') },
  { weight: 2, arbitrary: agentIndex.map((i) => new Ref('id', i)) },
  { weight: 1, arbitrary: agentIndex.map((i) => new Ref('id', i, 0, 'frameworks')) },
  { weight: 1, arbitrary: text(0, 10) },
);
const oddSegments: fc.Arbitrary<(string | Ref)[]> = fc.oneof(
  fc.array(oddSegment, { minLength: 0, maxLength: 7 }),
  fc.constantFrom<(string | Ref)[]>(['api', 'v1', 'agents', ''], ['api', 'v1', 'master', ''], ['health', ''], ['api', 'v1', 'agents', '..', 'master'], ['api', 'v1', 'agents', '%2e%2e', 'registry'], ['api', 'v1', 'master', 'recovery']),
  agentIndex.map((i) => ['api', 'v1', 'agents', new Ref('id', i), 'heartbeat', '']),
  agentIndex.map((i) => ['api', 'v1', 'agents', new Ref('id', i), 'heartbeat', 'extra']),
  agentIndex.map((i) => ['api', 'v1', 'agents', new Ref('id', i), '..', '..', 'master']),
  agentIndex.map((i) => ['api', 'v1', 'agents', `${i}%2Fheartbeat`]),
);

const ENDPOINT_WEIGHTS: Record<AgentEndpoint, number> = {
  register: 5, reregister: 4, heartbeat: 5, leave: 2, list: 5, get: 2, gone: 2, drain: 2, deactivate: 2, reactivate: 2,
  master: 2, release: 2, registry: 2, health: 2, mesos: 4, slaves: 2, events: 2, metrics: 2, odd: 4,
};
const VALID_BODY: Partial<Record<AgentEndpoint, fc.Arbitrary<Record<string, unknown>>>> = {
  register: registerValid,
  reregister: reregisterValid,
  heartbeat: heartbeatValid,
  leave: fc.constant({}),
  gone: actionValid,
  drain: drainValid,
  deactivate: actionValid,
  reactivate: actionValid,
  release: releaseValid,
  mesos: mesosValid,
  odd: fc.oneof(registerValid, heartbeatValid, actionValid, mesosValid),
};

/** DELETE takes no body: one is sent rarely (it is ignored). */
export const deleteBody = (valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<BodySpec> =>
  fc.oneof({ weight: 6, arbitrary: fc.constant<BodySpec>({ b: 'none' }) }, { weight: 1, arbitrary: bodyArb(valid) });

/** A request to one endpoint, with these bodies and queries (any target, credentials, headers). */
export function requestSpecArb(endpoint: Endpoint, body: fc.Arbitrary<BodySpec>, query: fc.Arbitrary<QueryParam[]> = fc.constant([])): fc.Arbitrary<RequestSpec> {
  return fc.record({
    endpoint: fc.constant(endpoint),
    target: targetArb,
    token: tokenArb,
    body,
    query,
    contentType: fc.option(fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', ''), { nil: undefined }),
    contentLength: fc.boolean(),
    method: endpoint === 'odd' ? oddMethod : fc.constant(''),
    segments: endpoint === 'odd' ? oddSegments : fc.constant<(string | Ref)[]>([]),
  });
}

function specFor(endpoint: AgentEndpoint): fc.Arbitrary<RequestSpec> {
  const valid = VALID_BODY[endpoint];
  // GETs never carry a body.
  const body: fc.Arbitrary<BodySpec> = !valid ? fc.constant({ b: 'none' }) : endpoint === 'leave' ? deleteBody(valid) : bodyArb(valid);
  const query = endpoint === 'list' ? queryArb : ['health', 'slaves', 'events'].includes(endpoint) ? fc.oneof(fc.constant<QueryParam[]>([]), queryArb) : undefined;
  return requestSpecArb(endpoint, body, query);
}

/** Requests to the agents' and the master's endpoints, each with its weight (for fc.oneof). */
export const requestArbs = ENDPOINTS.map((e) => ({ weight: ENDPOINT_WEIGHTS[e], arbitrary: specFor(e) }));
export const tickArb: fc.Arbitrary<Tick> = fc.record({ tick: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 20_000, max: 150_000 })) });
/** A case: requests, with time passing between some of them. */
export const stepsOf = (requests: fc.Arbitrary<RequestSpec>): fc.Arbitrary<Step[]> =>
  fc.array(fc.oneof({ weight: 15, arbitrary: requests }, { weight: 1, arbitrary: tickArb }), { minLength: 4, maxLength: 12 });

// ---------------------------------------------------------------------------------------------
// Making a spec concrete against a world.

/** How the credential presented relates to what the endpoint takes. */
export type AuthClass = 'valid' | 'missing' | 'wrong-kind' | 'invalid' | 'n/a';

export interface Concrete {
  spec: RequestSpec;
  endpoint: Endpoint;
  need: Need;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  /** The path is the endpoint's own (no dot segments, no empty id): routing is certain. */
  clean: boolean;
  auth: AuthClass;
  /** The body is over the limit. */
  oversized: boolean;
}

const utf8 = new TextEncoder();

/** The index-th agent (or framework) of the world, modulo their number. */
function holderAt(w: World, of: Holders, index: number): KnownAgent {
  const list: KnownAgent[] = w[of];
  return list[index % list.length]!;
}

function resolve(w: World, v: unknown): unknown {
  if (v instanceof Ref) {
    const a = holderAt(w, v.of, v.index);
    switch (v.what) {
      case 'id':
        return a.id;
      case 'upperId':
        return a.id.toUpperCase();
      case 'secret':
        return a.secret;
      case 'epoch':
        return w.epoch + v.delta;
      case 'machine': {
        const machines = w.agents.flatMap((x) => (x.machineId ? [x.machineId] : []));
        return v.index % 4 === 3 || machines.length === 0 ? `machine-new-${v.index}` : machines[v.index % machines.length];
      }
      case 'idPrefix':
        return a.id.slice(0, v.delta);
      case 'cursor':
        return w.cursors.length ? w.cursors[v.index % w.cursors.length] : cursorOf({ after: `${v.of}/${a.id}` });
      case 'ticket': {
        // A ticket the master issued to this agent (presented with any agent's id and secret).
        const tickets = a.tickets ?? [];
        return tickets.length ? tickets[v.delta % tickets.length] : 'no-ticket';
      }
    }
  }
  if (Array.isArray(v)) return v.map((x) => resolve(w, x));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: resolve(w, x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

function bodyBytes(w: World, b: BodySpec): Uint8Array | undefined {
  switch (b.b) {
    case 'none':
      return undefined;
    case 'bytes':
      return b.bytes;
    case 'text':
      return utf8.encode(b.text);
    case 'json': {
      const json = JSON.stringify(resolve(w, b.value)) ?? 'null';
      if (b.wrap === 'bom') return utf8.encode(`\ufeff${json}`);
      if (b.wrap === 'trailing') return utf8.encode(`${json},`);
      if (b.wrap === 'truncate') return utf8.encode(json.slice(0, (b.cut ?? 0) % Math.max(1, json.length)));
      return utf8.encode(json);
    }
    case 'big':
      return bigBody(w, b);
  }
}

/** A body of exactly `size` bytes. */
function bigBody(w: World, b: Extract<BodySpec, { b: 'big' }>): Uint8Array {
  const fill = (head: string, tail: string, ch = 'a') => {
    const room = b.size - utf8.encode(head + tail).length;
    const chBytes = utf8.encode(ch).length;
    const n = Math.max(0, Math.floor(room / chBytes));
    return utf8.encode(head + ch.repeat(n) + 'a'.repeat(Math.max(0, room - n * chBytes)) + tail);
  };
  switch (b.fill) {
    case 'hostname':
      return fill('{"hostname":"', '"}');
    case 'reason':
      return fill('{"reason":"', '"}');
    case 'multibyte':
      return fill('{"hostname":"', '"}', '\u00e9');
    case 'spaces': {
      const json = JSON.stringify(resolve(w, b.value ?? {})) ?? '{}';
      return fill(json, '', ' ');
    }
    case 'junk':
      return fill('', '', 'x');
  }
}

/** The credential presented, and how it relates to the one the endpoint takes; `target` indexes `of` (the path's agent or framework). */
function tokenFor(w: World, spec: RequestSpec, need: Need, of: Holders, target: number | undefined): { header?: string; auth: AuthClass } {
  const t = spec.token;
  const own = holderAt(w, of, target ?? 0).secret;
  const kindOf = (kind: 'join' | 'operator' | 'framework'): AuthClass =>
    need === 'anyone' || need === 'unknown' ? 'n/a' : need === kind ? 'valid' : 'wrong-kind';
  const holds = need === 'agent' || need === 'scheduler';
  const ownClass: AuthClass = need === 'anyone' || need === 'unknown' ? 'n/a' : holds && target !== undefined ? 'valid' : 'invalid';
  const invalid: AuthClass = need === 'anyone' || need === 'unknown' ? 'n/a' : 'invalid';
  switch (t.k) {
    case 'right':
      if (need === 'join') return { header: `Bearer ${JOIN}`, auth: 'valid' };
      if (need === 'operator') return { header: `Bearer ${OPERATOR}`, auth: 'valid' };
      if (need === 'framework') return { header: `Bearer ${FRAMEWORK}`, auth: 'valid' };
      if (holds) return { header: `Bearer ${own}`, auth: ownClass };
      return spec.endpoint === 'odd' ? { header: `Bearer ${OPERATOR}`, auth: 'n/a' } : { auth: 'n/a' };
    case 'none':
      return { auth: need === 'anyone' || need === 'unknown' ? 'n/a' : 'missing' };
    case 'malformed':
      return { header: t.header, auth: need === 'anyone' || need === 'unknown' ? 'n/a' : 'missing' };
    case 'join':
      return { header: `Bearer ${JOIN}`, auth: kindOf('join') };
    case 'join9':
      return { header: `Bearer ${JOIN_RACK_9}`, auth: kindOf('join') };
    case 'joinCase':
      return { header: `bEaReR \t ${JOIN}  `, auth: kindOf('join') };
    case 'operator':
      return { header: `Bearer ${OPERATOR}`, auth: kindOf('operator') };
    case 'operatorCase':
      return { header: `BEARER  ${OPERATOR}\t`, auth: kindOf('operator') };
    case 'framework':
      return { header: `Bearer ${FRAMEWORK}`, auth: kindOf('framework') };
    case 'own':
      return { header: `Bearer ${own}`, auth: ownClass };
    case 'other': {
      // Another's secret: any agent or framework whose secret is not the target's.
      const others = [...w.agents, ...w.frameworks].filter((a) => a.secret !== own);
      const other = others[t.offset % Math.max(1, others.length)]?.secret ?? 'no-other-agent-secret-xxxxxxxxxxxxxxxxxxxxxx';
      return { header: `Bearer ${other}`, auth: invalid };
    }
    case 'forged':
      return { header: `Bearer ${t.token}`, auth: invalid };
    case 'near': {
      const base = { join: JOIN, operator: OPERATOR, framework: FRAMEWORK, own }[t.base];
      const edited =
        t.edit === 'suffix' ? `${base}x` : t.edit === 'chop' ? base.slice(0, -1) : t.edit === 'flip' ? `${base.slice(0, -1)}${base.endsWith('A') ? 'B' : 'A'}` : base.toUpperCase();
      return { header: `Bearer ${edited}`, auth: edited === base ? (t.base === 'own' ? ownClass : kindOf(t.base)) : invalid };
    }
  }
}

/** The id segment for a target, and whether it names one of the world's agents (or frameworks). */
function segmentFor(w: World, t: Target, of: Holders): { segment: string; agent?: number; clean: boolean } {
  switch (t.t) {
    case 'agent': {
      const id = holderAt(w, of, t.index).id;
      const index = t.index % w[of].length;
      if (t.form === 'upper') return { segment: id.toUpperCase(), agent: index, clean: true };
      if (t.form === 'pct') return { segment: pctEncode(id), agent: index, clean: true };
      return { segment: id, agent: index, clean: true };
    }
    case 'fresh':
      return { segment: t.id, clean: true };
    case 'near':
      return { segment: pctEncode(nearId(holderAt(w, of, t.index).id, t.edit)), clean: true };
    case 'junk': {
      const dots = t.text === '' || t.text === '.' || t.text === '..' || /^(%2e|\.){1,2}$/i.test(t.text);
      return t.encode ? { segment: pctEncode(t.text), clean: !dots } : { segment: t.text, clean: false };
    }
  }
}

export function queryString(w: World, q: QueryParam[]): string {
  if (q.length === 0) return '';
  const part = (p: QueryParam) => {
    const value = String(resolve(w, p.value));
    return p.encode ? `${pctEncode(p.name)}=${pctEncode(value)}` : `${p.name}=${value}`;
  };
  return `?${q.map(part).join('&')}`;
}

const BODYLESS = new Set(['GET', 'HEAD']);

/** Where a request goes; `usesId`: the path holds the target's id; `clean`: the path is the endpoint's own. */
export interface Route {
  method: string;
  path: string;
  usesId?: boolean;
  clean?: boolean;
}

/** A spec made concrete: `route` puts the target's id segment (an agent's, or a framework's: `of`) in the endpoint's path. */
export function concreteFor(w: World, spec: RequestSpec, need: Need, of: Holders, route: (segment: string) => Route): Concrete {
  const { segment, agent, clean: cleanId } = segmentFor(w, spec.target, of);
  const { method, path, usesId = false, clean = true } = route(segment);
  const { header, auth } = tokenFor(w, spec, need, of, usesId ? agent : undefined);
  const body = BODYLESS.has(method) ? undefined : bodyBytes(w, spec.body);
  const headers: Record<string, string> = {};
  if (header !== undefined) headers.authorization = header;
  if (body !== undefined && spec.contentType !== undefined) headers['content-type'] = spec.contentType;
  if (body !== undefined && spec.contentLength) headers['content-length'] = String(body.length);
  return { spec, endpoint: spec.endpoint, need, method, path, headers, body, clean: usesId ? cleanId : clean, auth, oversized: (body?.length ?? 0) > MAX_BODY_BYTES };
}

/** A request to one of the agents' or the master's endpoints, made concrete. */
export function concrete(w: World, spec: RequestSpec): Concrete {
  return concreteFor(w, spec, NEED[spec.endpoint as AgentEndpoint], 'agents', (segment) => agentRoute(w, spec, segment));
}

function agentRoute(w: World, spec: RequestSpec, segment: string): Route {
  switch (spec.endpoint as AgentEndpoint) {
    case 'register':
      return { method: 'POST', path: '/api/v1/agents' };
    case 'reregister':
    case 'heartbeat':
      return { method: 'POST', path: `/api/v1/agents/${segment}/${spec.endpoint}`, usesId: true };
    case 'leave':
      return { method: 'DELETE', path: `/api/v1/agents/${segment}`, usesId: true };
    case 'list':
      return { method: 'GET', path: `/api/v1/agents${queryString(w, spec.query)}` };
    case 'get':
      return { method: 'GET', path: `/api/v1/agents/${segment}`, usesId: true };
    case 'gone':
    case 'drain':
    case 'deactivate':
    case 'reactivate':
      return { method: 'POST', path: `/api/v1/agents/${segment}/${spec.endpoint}`, usesId: true };
    case 'master':
      return { method: 'GET', path: '/api/v1/master' };
    case 'release':
      return { method: 'POST', path: '/api/v1/master/recovery/release' };
    case 'registry':
      return { method: 'GET', path: '/api/v1/registry' };
    case 'health':
      return { method: 'GET', path: `/health${queryString(w, spec.query)}` };
    case 'mesos':
      return { method: 'POST', path: '/api/v1' };
    case 'slaves':
      return { method: 'GET', path: `/master/slaves${queryString(w, spec.query)}` };
    case 'events': {
      // The backlog only (a stream that ends at once), after odd positions.
      const q = queryString(w, spec.query);
      return { method: 'GET', path: `/api/v1/events${q ? `${q}&` : '?'}timeoutSeconds=0` };
    }
    case 'metrics':
      return { method: 'GET', path: '/metrics' };
    case 'odd':
      return { method: spec.method, path: `/${spec.segments.map((s) => String(resolve(w, s))).join('/')}`, clean: false };
  }
}

/** The request, short enough for a failure message. */
export function describe(c: Concrete): string {
  const body = c.body === undefined ? 'none' : `${c.body.length} bytes ${JSON.stringify(new TextDecoder().decode(c.body.slice(0, 300)))}${c.body.length > 300 ? '…' : ''}`;
  const path = c.path.length > 400 ? `${c.path.slice(0, 400)}…(${c.path.length} chars)` : c.path;
  return `${c.method} ${JSON.stringify(path)} headers=${JSON.stringify(c.headers)} auth=${c.auth} (${c.spec.token.k}) body=${body}`;
}
