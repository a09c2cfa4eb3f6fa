// Configuration from environment variables or the same names as CLI flags (DESIGN.md,
// "Configuration"), validated at start: a bad value is one clear ConfigError.
import { leaseProblem, timeoutProblem, type Policy } from './registry/index.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Runtime = 'node' | 'lambda' | 'worker';

/** On Lambda, EventBridge invokes the sweeper this often; each invocation sweeps every sweep interval until the next. */
export const SWEEP_SCHEDULE_MS = 60_000;

export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'leveldb'; path: string }
  | { kind: 'dynamodb'; table: string }
  | { kind: 'firestore'; collection: string }
  /** `auth`: digest credentials, from zookeeper:<user>:<password>@<host:port>/<path> (adapters/zookeeper). */
  | { kind: 'zookeeper'; connectionString: string; root: string; auth?: { user: string; password: string } }
  /** etcd:<host:port>[,<host:port>…]/<prefix> (adapters/etcd). */
  | { kind: 'etcd'; endpoints: string[]; prefix: string }
  | { kind: 'durable-objects' };

export interface Token {
  label: string;
  token: string;
}

export interface Config {
  port: number;
  /** The address the Node server listens on. */
  host: string;
  store: StoreSpec;
  /** The Node server serves HTTPS with this certificate chain and key (PEM files), reloaded on SIGHUP. */
  tls?: { certFile: string; keyFile: string };
  /** How long one call to a networked store (DynamoDB, Firestore) may take, its retries included. */
  storeTimeout: number;
  /** Registrations per join-token label per instance (429 beyond it). */
  registrationRateLimit: { count: number; per: number };
  /** Undefined when unset: the LevelDB store generates them, every other store refuses to start. */
  joinTokens?: Token[];
  operatorTokens?: Token[];
  /** Framework tokens (REGISTRAR_FRAMEWORK_TOKEN): to register a framework; the same rules as join tokens. */
  frameworkTokens?: Token[];
  /** Ticket signing keys (rule 13): the first signs, all verify. Unset: the registry keeps them. */
  ticketKeys?: string[];
  policy: Policy;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "15s", "10m", "2h", "14d" → milliseconds. */
export function parseDuration(name: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new ConfigError(`${name}: "${text}" is not a duration (use e.g. 500ms, 15s, 10m, 14d)`);
  const ms = Math.round(Number(m[1]) * UNITS[m[2]!]!);
  if (ms <= 0) throw new ConfigError(`${name}: must be more than zero`);
  return ms;
}

function parseShare(name: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  const share = m ? Number(m[1]) / 100 : Number(text);
  if (!Number.isFinite(share) || share < 0 || share > 1 || text.trim() === '') {
    throw new ConfigError(`${name}: "${text}" is not a share (use e.g. 50% or 0.5)`);
  }
  return share;
}

function parseCount(name: string, text: string, min = 0): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min) throw new ConfigError(`${name}: "${text}" is not a whole number ≥ ${min}`);
  return n;
}

/** "100/1m": at most 100 marks per minute. */
function parseRate(name: string, text: string): { count: number; per: number } {
  const [count, per] = text.split('/');
  if (count === undefined || per === undefined) throw new ConfigError(`${name}: "${text}" is not a rate (use e.g. 100/1m)`);
  return { count: parseCount(name, count, 1), per: parseDuration(name, per) };
}

/** One token, or a comma-separated list of label:token pairs (so tokens rotate without downtime). */
export function parseTokens(name: string, text: string, defaultLabel: string): Token[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new ConfigError(`${name}: empty`);
  const tokens = parts.map((part) => {
    const colon = part.indexOf(':');
    const token = parts.length === 1 && colon < 0 ? { label: defaultLabel, token: part } : { label: part.slice(0, colon), token: part.slice(colon + 1) };
    if (colon === 0 || (parts.length > 1 && colon < 0)) throw new ConfigError(`${name}: use label:token pairs when giving several`);
    if (token.token.length < 16) throw new ConfigError(`${name}: a token must be at least 16 characters`);
    return token;
  });
  if (new Set(tokens.map((t) => t.label)).size !== tokens.length) throw new ConfigError(`${name}: labels must be distinct`);
  return tokens;
}

export function parseStore(text: string): StoreSpec {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  const bad = (why: string) => new ConfigError(`REGISTRAR_STORE: "${text}": ${why}`);
  switch (kind) {
    case 'memory':
      return { kind };
    case 'leveldb':
      return { kind, path: rest || './data' };
    case 'dynamodb':
      if (!/^[A-Za-z0-9_.-]{3,255}$/.test(rest)) throw bad('use dynamodb:<table>');
      return { kind, table: rest };
    case 'firestore':
      if (!/^[^/]+$/.test(rest)) throw bad('use firestore:<collection>');
      return { kind, collection: rest };
    case 'zookeeper': {
      // zookeeper:[<user>:<password>@]<host:port>[,<host:port>…]/<path>, user and password
      // percent-encoded; an error never repeats them.
      const at = rest.indexOf('@');
      const credentials = at >= 0 && (rest.indexOf('/') < 0 || at < rest.indexOf('/')) ? rest.slice(0, at) : undefined;
      const servers = credentials === undefined ? rest : rest.slice(at + 1);
      const invalid = (why: string) => new ConfigError(`REGISTRAR_STORE: "zookeeper:${text.includes('@') ? `<credentials>@${text.slice(text.lastIndexOf('@') + 1)}` : rest}": ${why}`);
      const usage = 'use zookeeper:[<user>:<password>@]<host:port>[,<host:port>…]/<path>';
      const slash = servers.indexOf('/');
      const hosts = servers.slice(0, Math.max(slash, 0)).split(',');
      if (slash <= 0 || slash === servers.length - 1 || !hosts.every((h) => /^(\[[\da-fA-F:.]+\]|[^\s@:/[\]]+)(:\d+)?$/.test(h))) throw invalid(usage);
      const store = { kind, connectionString: servers.slice(0, slash), root: servers.slice(slash) } as const;
      if (credentials === undefined) return store;
      const colon = credentials.indexOf(':');
      let user: string;
      let password: string;
      try {
        user = decodeURIComponent(credentials.slice(0, Math.max(colon, 0)));
        password = decodeURIComponent(credentials.slice(colon + 1));
      } catch {
        throw invalid('the credentials are not well percent-encoded');
      }
      if (colon < 0 || user === '' || password === '' || user.includes(':')) throw invalid(`credentials are <user>:<password>, percent-encoded; ${usage}`);
      return { ...store, auth: { user, password } };
    }
    case 'etcd': {
      // The cluster's members, any of which may answer, then the prefix the records live under.
      const slash = rest.indexOf('/');
      const endpoints = rest.slice(0, Math.max(slash, 0)).split(',');
      const prefix = rest.slice(slash);
      const valid = slash > 0 && endpoints.every((e) => /^(\[[\da-fA-F:.]+\]|[^\s@:/[\],]+):\d{1,5}$/.test(e))
        && prefix.length > 1 && !prefix.endsWith('/') && prefix.split('/').slice(1).every((p) => p !== '' && p !== '.' && p !== '..');
      if (!valid) throw bad('use etcd:<host:port>[,<host:port>…]/<prefix>');
      return { kind, endpoints, prefix };
    }
    case 'durable-objects':
      return { kind };
    default:
      throw bad('unknown store (memory, leveldb, dynamodb, firestore, zookeeper, etcd)');
  }
}

export type Env = Record<string, string | undefined>;

/** Flags such as --agent-timeout 75s become REGISTRAR_AGENT_TIMEOUT; --port becomes PORT. */
export function flagsToEnv(argv: string[]): Env {
  const env: Env = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    const upper = name.toUpperCase().replace(/-/g, '_');
    env[upper === 'PORT' ? 'PORT' : `REGISTRAR_${upper}`] = value;
  }
  return env;
}

const KNOWN = new Set([
  'PORT', 'REGISTRAR_HOST', 'REGISTRAR_STORE', 'REGISTRAR_JOIN_TOKEN', 'REGISTRAR_OPERATOR_TOKEN', 'REGISTRAR_FRAMEWORK_TOKEN', 'REGISTRAR_HEARTBEAT_INTERVAL', 'REGISTRAR_AGENT_TIMEOUT',
  'REGISTRAR_LIVENESS_GRANULARITY', 'REGISTRAR_MASTER_LEASE', 'REGISTRAR_REREGISTER_TIMEOUT', 'REGISTRAR_SWEEP_INTERVAL',
  'REGISTRAR_MAX_CLOCK_SKEW', 'REGISTRAR_RECOVERY_UNREACHABLE_LIMIT', 'REGISTRAR_RECOVERY_UNREACHABLE_MINIMUM',
  'REGISTRAR_UNREACHABLE_RATE_LIMIT', 'REGISTRAR_REGISTRY_RETENTION', 'REGISTRAR_REGISTRY_MAX_ENTRIES', 'REGISTRAR_MAX_AGENTS',
  'REGISTRAR_REGISTRATION_RATE_LIMIT', 'REGISTRAR_TLS_CERT', 'REGISTRAR_TLS_KEY', 'REGISTRAR_STORE_TIMEOUT', 'REGISTRAR_TICKET_KEYS',
  // Lambda: the Secrets Manager secrets holding the tokens, read at run time (src/lambda.ts).
  'REGISTRAR_JOIN_TOKEN_SECRET', 'REGISTRAR_OPERATOR_TOKEN_SECRET', 'REGISTRAR_FRAMEWORK_TOKEN_SECRET',
]);

export function loadConfig(env: Env, runtime: Runtime = 'node'): Config {
  for (const name of Object.keys(env)) {
    if (name.startsWith('REGISTRAR_') && !KNOWN.has(name) && env[name] !== undefined) throw new ConfigError(`${name}: unknown setting`);
  }
  const get = (name: string, fallback: string) => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const duration = (name: string, fallback: string) => parseDuration(name, get(name, fallback));
  const lambda = runtime === 'lambda';
  const rate = env.REGISTRAR_UNREACHABLE_RATE_LIMIT;
  const policy: Policy = {
    heartbeatInterval: duration('REGISTRAR_HEARTBEAT_INTERVAL', '15s'),
    agentTimeout: duration('REGISTRAR_AGENT_TIMEOUT', '75s'),
    livenessGranularity: duration('REGISTRAR_LIVENESS_GRANULARITY', '60s'),
    masterLease: duration('REGISTRAR_MASTER_LEASE', lambda ? '150s' : '30s'),
    reregisterTimeout: duration('REGISTRAR_REREGISTER_TIMEOUT', '10m'),
    // Lambda: each one-minute scheduled invocation sweeps every 15 s until the next one is due.
    sweepInterval: duration('REGISTRAR_SWEEP_INTERVAL', lambda ? '15s' : '5s'),
    maxClockSkew: duration('REGISTRAR_MAX_CLOCK_SKEW', '2s'),
    recoveryUnreachableLimit: parseShare('REGISTRAR_RECOVERY_UNREACHABLE_LIMIT', get('REGISTRAR_RECOVERY_UNREACHABLE_LIMIT', '50%')),
    recoveryUnreachableMinimum: parseCount('REGISTRAR_RECOVERY_UNREACHABLE_MINIMUM', get('REGISTRAR_RECOVERY_UNREACHABLE_MINIMUM', '3')),
    ...(rate ? { unreachableRateLimit: parseRate('REGISTRAR_UNREACHABLE_RATE_LIMIT', rate) } : {}),
    registryRetention: duration('REGISTRAR_REGISTRY_RETENTION', '14d'),
    registryMaxEntries: parseCount('REGISTRAR_REGISTRY_MAX_ENTRIES', get('REGISTRAR_REGISTRY_MAX_ENTRIES', '102400'), 1),
    maxAgents: parseCount('REGISTRAR_MAX_AGENTS', get('REGISTRAR_MAX_AGENTS', '100000'), 1),
  };
  const problem = leaseProblem(policy);
  if (problem) throw new ConfigError(`REGISTRAR_MASTER_LEASE: ${problem}`);
  // Rule 5 holds only if an agent's slack covers a store outage that raises no floor.
  const timeout = timeoutProblem(policy);
  if (timeout) throw new ConfigError(`REGISTRAR_AGENT_TIMEOUT: ${timeout}`);
  const port = parseCount('PORT', get('PORT', '5050'));
  if (port > 65535) throw new ConfigError(`PORT: ${port} is not a port`);
  const store = parseStore(get('REGISTRAR_STORE', runtime === 'worker' ? 'durable-objects' : lambda ? '' : 'leveldb:./data'));
  const join = env.REGISTRAR_JOIN_TOKEN;
  const operator = env.REGISTRAR_OPERATOR_TOKEN;
  const joinTokens = join ? parseTokens('REGISTRAR_JOIN_TOKEN', join, 'join') : [];
  const operatorTokens = operator ? parseTokens('REGISTRAR_OPERATOR_TOKEN', operator, 'operator') : [];
  if (joinTokens.some((j) => operatorTokens.some((o) => o.token === j.token))) {
    throw new ConfigError('REGISTRAR_JOIN_TOKEN and REGISTRAR_OPERATOR_TOKEN must not share a token');
  }
  const framework = env.REGISTRAR_FRAMEWORK_TOKEN;
  const frameworkTokens = framework ? parseTokens('REGISTRAR_FRAMEWORK_TOKEN', framework, 'framework') : [];
  if (frameworkTokens.some((f) => [...joinTokens, ...operatorTokens].some((t) => t.token === f.token))) {
    throw new ConfigError('REGISTRAR_FRAMEWORK_TOKEN must not share a token with REGISTRAR_JOIN_TOKEN or REGISTRAR_OPERATOR_TOKEN');
  }
  const ticketKeys = env.REGISTRAR_TICKET_KEYS?.split(',').map((k) => k.trim()).filter(Boolean);
  if (ticketKeys?.some((k) => k.length < 32)) throw new ConfigError('REGISTRAR_TICKET_KEYS: each key must be at least 32 characters (comma-separated; the first signs)');
  const certFile = env.REGISTRAR_TLS_CERT;
  const keyFile = env.REGISTRAR_TLS_KEY;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new ConfigError('REGISTRAR_TLS_CERT and REGISTRAR_TLS_KEY come together: a certificate chain and its key, as PEM files');
  return {
    port,
    host: get('REGISTRAR_HOST', '0.0.0.0'),
    ...(certFile && keyFile ? { tls: { certFile, keyFile } } : {}),
    // Well under an agent's request timeout (its heartbeat interval), so a dead socket is a quick 503.
    storeTimeout: duration('REGISTRAR_STORE_TIMEOUT', '2s'),
    registrationRateLimit: parseRate('REGISTRAR_REGISTRATION_RATE_LIMIT', get('REGISTRAR_REGISTRATION_RATE_LIMIT', '100/1s')),
    store,
    policy,
    ...(join ? { joinTokens } : {}),
    ...(operator ? { operatorTokens } : {}),
    ...(framework ? { frameworkTokens } : {}),
    ...(ticketKeys?.length ? { ticketKeys } : {}),
  };
}

/** Shared stores and serverless runtimes never start with an open API. */
export function requireTokens(config: Config): { join: Token[]; operator: Token[]; framework: Token[] } {
  if (!config.joinTokens || !config.operatorTokens) {
    throw new ConfigError(`REGISTRAR_JOIN_TOKEN and REGISTRAR_OPERATOR_TOKEN are required with the ${config.store.kind} store`);
  }
  if (!config.frameworkTokens) throw new ConfigError(`REGISTRAR_FRAMEWORK_TOKEN is required with the ${config.store.kind} store`);
  return { join: config.joinTokens, operator: config.operatorTokens, framework: config.frameworkTokens };
}
