import { describe, expect, it } from 'vitest';
import { ConfigError, flagsToEnv, loadConfig, parseDuration, parseStore, parseTokens, requireTokens } from './config.ts';

const S = 1000;

describe('configuration', () => {
  it('defaults to DESIGN.md’s table', () => {
    const c = loadConfig({});
    expect(c.port).toBe(5050);
    expect(c.store).toEqual({ kind: 'leveldb', path: './data' });
    expect(c.policy).toEqual({
      heartbeatInterval: 15 * S, agentTimeout: 75 * S, livenessGranularity: 60 * S, masterLease: 30 * S,
      reregisterTimeout: 600 * S, sweepInterval: 5 * S, maxClockSkew: 2 * S, recoveryUnreachableLimit: 0.5,
      recoveryUnreachableMinimum: 3, registryRetention: 14 * 86_400 * S, registryMaxEntries: 102_400, maxAgents: 100_000,
    });
    expect(c.registrationRateLimit).toEqual({ count: 100, per: S });
    expect(c.storeTimeout).toBe(2 * S);
    expect(c.joinTokens).toBeUndefined();
  });

  it('takes a TLS certificate and key together, never one alone', () => {
    expect(loadConfig({ REGISTRAR_TLS_CERT: 'cert.pem', REGISTRAR_TLS_KEY: 'key.pem' }).tls).toEqual({ certFile: 'cert.pem', keyFile: 'key.pem' });
    expect(() => loadConfig({ REGISTRAR_TLS_CERT: 'cert.pem' })).toThrow(/come together/);
    expect(loadConfig({}).tls).toBeUndefined();
  });

  it('reads ticket keys, the first signing, and refuses short ones', () => {
    expect(loadConfig({}).ticketKeys).toBeUndefined();
    expect(loadConfig({ REGISTRAR_TICKET_KEYS: `${'n'.repeat(32)}, ${'o'.repeat(40)}` }).ticketKeys).toEqual(['n'.repeat(32), 'o'.repeat(40)]);
    expect(() => loadConfig({ REGISTRAR_TICKET_KEYS: 'short' })).toThrow(/REGISTRAR_TICKET_KEYS: each key must be at least 32/);
  });

  it('uses the Lambda defaults for lease and sweep on Lambda', () => {
    const { policy } = loadConfig({ REGISTRAR_STORE: 'dynamodb:registry' }, 'lambda');
    // Each one-minute scheduled invocation sweeps every 15 s until the next one is due.
    expect([policy.masterLease, policy.sweepInterval]).toEqual([150 * S, 15 * S]);
  });

  it('reads durations like 500ms, 15s, 10m, 2h, 14d and 1.5s', () => {
    expect(['500ms', '15s', '10m', '2h', '14d', '1.5s'].map((d) => parseDuration('X', d))).toEqual([500, 15 * S, 600 * S, 7_200 * S, 14 * 86_400 * S, 1_500]);
    for (const bad of ['15', 's', '-1s', '0s', '1 week', '']) expect(() => parseDuration('X', bad), bad).toThrow(ConfigError);
  });

  it('names the setting in every refusal', () => {
    expect(() => loadConfig({ REGISTRAR_AGENT_TIMEOUT: 'soon' })).toThrow(/^REGISTRAR_AGENT_TIMEOUT: "soon" is not a duration/);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/^PORT/);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/^PORT/);
    expect(() => loadConfig({ REGISTRAR_RECOVERY_UNREACHABLE_LIMIT: '150%' })).toThrow(/^REGISTRAR_RECOVERY_UNREACHABLE_LIMIT/);
    expect(() => loadConfig({ REGISTRAR_REGISTRY_MAX_ENTRIES: '0' })).toThrow(/^REGISTRAR_REGISTRY_MAX_ENTRIES/);
    expect(() => loadConfig({ REGISTRAR_UNREACHABLE_RATE_LIMIT: 'fast' })).toThrow(/^REGISTRAR_UNREACHABLE_RATE_LIMIT/);
    expect(() => loadConfig({ REGISTRAR_AGENT_TIMOUT: '90s' })).toThrow(/^REGISTRAR_AGENT_TIMOUT: unknown setting/);
  });

  it('reads shares and rate limits', () => {
    expect(loadConfig({ REGISTRAR_RECOVERY_UNREACHABLE_LIMIT: '25%' }).policy.recoveryUnreachableLimit).toBe(0.25);
    expect(loadConfig({ REGISTRAR_RECOVERY_UNREACHABLE_LIMIT: '0.3' }).policy.recoveryUnreachableLimit).toBe(0.3);
    expect(loadConfig({ REGISTRAR_UNREACHABLE_RATE_LIMIT: '100/1m' }).policy.unreachableRateLimit).toEqual({ count: 100, per: 60 * S });
  });

  it('refuses a lease that sweeps cannot keep alive, and an agent timeout within heartbeat plus skew', () => {
    expect(() => loadConfig({ REGISTRAR_MASTER_LEASE: '11s' })).toThrow(/at least 2 × sweep interval \+ max clock skew \(12000ms\)/);
    expect(loadConfig({ REGISTRAR_MASTER_LEASE: '12s' }).policy.masterLease).toBe(12 * S);
    expect(() => loadConfig({ REGISTRAR_AGENT_TIMEOUT: '17s' })).toThrow(/^REGISTRAR_AGENT_TIMEOUT/);
  });

  it('reads one token or label:token pairs, never shared between kinds', () => {
    expect(parseTokens('T', 'a-single-token-0123456789', 'join')).toEqual([{ label: 'join', token: 'a-single-token-0123456789' }]);
    expect(parseTokens('T', 'old:token-one-0123456789, new:token-two-0123456789', 'join')).toEqual([
      { label: 'old', token: 'token-one-0123456789' },
      { label: 'new', token: 'token-two-0123456789' },
    ]);
    expect(() => parseTokens('T', 'short', 'join')).toThrow(/at least 16/);
    expect(() => parseTokens('T', 'a:token-one-0123456789,a:token-two-0123456789', 'join')).toThrow(/distinct/);
    expect(() => parseTokens('T', 'token-one-0123456789,token-two-0123456789', 'join')).toThrow(/label:token/);
    expect(() => loadConfig({ REGISTRAR_JOIN_TOKEN: 'same-token-0123456789', REGISTRAR_OPERATOR_TOKEN: 'same-token-0123456789' })).toThrow(/must not share/);
    expect(() => loadConfig({ REGISTRAR_JOIN_TOKEN: 'same-token-0123456789', REGISTRAR_FRAMEWORK_TOKEN: 'same-token-0123456789' })).toThrow(/must not share/);
    expect(() => loadConfig({ REGISTRAR_FRAMEWORK_TOKEN: 'short' })).toThrow(/REGISTRAR_FRAMEWORK_TOKEN: a token must be at least 16/);
  });

  it('requires tokens with any store but LevelDB', () => {
    expect(() => requireTokens(loadConfig({ REGISTRAR_STORE: 'memory' }))).toThrow(/REGISTRAR_JOIN_TOKEN and REGISTRAR_OPERATOR_TOKEN are required/);
    const both = loadConfig({ REGISTRAR_STORE: 'memory', REGISTRAR_JOIN_TOKEN: 'join-token-0123456789', REGISTRAR_OPERATOR_TOKEN: 'op:operator-token-0123456789' });
    expect(() => requireTokens(both)).toThrow(/REGISTRAR_FRAMEWORK_TOKEN is required with the memory store/);
    const all = loadConfig({ REGISTRAR_STORE: 'memory', REGISTRAR_JOIN_TOKEN: 'join-token-0123456789', REGISTRAR_OPERATOR_TOKEN: 'op:operator-token-0123456789', REGISTRAR_FRAMEWORK_TOKEN: 'marathon:framework-token-0123456789' });
    expect(requireTokens(all).operator).toEqual([{ label: 'op', token: 'operator-token-0123456789' }]);
    expect(requireTokens(all).framework).toEqual([{ label: 'marathon', token: 'framework-token-0123456789' }]);
  });

  it('reads every store', () => {
    expect(parseStore('memory')).toEqual({ kind: 'memory' });
    expect(parseStore('leveldb:/var/lib/registrar')).toEqual({ kind: 'leveldb', path: '/var/lib/registrar' });
    expect(parseStore('dynamodb:registry')).toEqual({ kind: 'dynamodb', table: 'registry' });
    expect(parseStore('firestore:registry')).toEqual({ kind: 'firestore', collection: 'registry' });
    expect(parseStore('zookeeper:zk1:2181,zk2:2181/registrar')).toEqual({ kind: 'zookeeper', connectionString: 'zk1:2181,zk2:2181', root: '/registrar' });
    for (const bad of ['redis:x', 'dynamodb:', 'zookeeper:zk1:2181', 'firestore:a/b']) expect(() => parseStore(bad), bad).toThrow(ConfigError);
  });

  it('reads a ZooKeeper ensemble and an etcd cluster: every member, then the path', () => {
    expect(parseStore('zookeeper:h1,h2,h3/registrar')).toEqual({ kind: 'zookeeper', connectionString: 'h1,h2,h3', root: '/registrar' });
    expect(parseStore('zookeeper:zk1:2181,zk2:2182,zk3:2183/a/b')).toEqual({ kind: 'zookeeper', connectionString: 'zk1:2181,zk2:2182,zk3:2183', root: '/a/b' });
    expect(parseStore('etcd:10.0.0.1:2379,10.0.0.2:2379,[::1]:2379/registrar')).toEqual({
      kind: 'etcd', endpoints: ['10.0.0.1:2379', '10.0.0.2:2379', '[::1]:2379'], prefix: '/registrar',
    });
    expect(parseStore('etcd:etcd-0.etcd:2379/prod/registrar')).toEqual({ kind: 'etcd', endpoints: ['etcd-0.etcd:2379'], prefix: '/prod/registrar' });
    for (const bad of [
      'etcd:', 'etcd:e1:2379', 'etcd:e1:2379/', 'etcd:/registrar', 'etcd:e1/registrar', 'etcd:e1:2379,/registrar', 'etcd:e1:2379,,e2:2379/r',
      'etcd:e1:2379/r/', 'etcd:e1:2379//r', 'etcd:e1:2379/r/../x', 'etcd:http://e1:2379/r', 'etcd:u:p@e1:2379/r', 'zookeeper:h1,,h3/r', 'zookeeper:h1,h2,h3',
    ]) expect(() => parseStore(bad), bad).toThrow(ConfigError);
  });

  it('reads ZooKeeper digest credentials apart from the servers, percent-decoded, and never repeats them in an error', () => {
    expect(parseStore('zookeeper:registrar:s3cr%40t%2F%25@zk1:2181,zk2:2181/registrar')).toEqual({
      kind: 'zookeeper', connectionString: 'zk1:2181,zk2:2181', root: '/registrar', auth: { user: 'registrar', password: 's3cr@t/%' },
    });
    expect(parseStore('zookeeper:zk1:2181/reg@istry')).toEqual({ kind: 'zookeeper', connectionString: 'zk1:2181', root: '/reg@istry' });
    for (const bad of [
      'zookeeper:registrar:hunter2@zk1:2181', 'zookeeper::hunter2@zk1:2181/r', 'zookeeper:registrar:@zk1:2181/r', 'zookeeper:registrar@zk1:2181/r',
      'zookeeper:registrar:hunter2%zz@zk1:2181/r', 'zookeeper:registrar:hunter2/x@zk1:2181/r', 'zookeeper:reg%3Aistrar:hunter2@zk1:2181/r',
    ]) {
      const err = (() => {
        try {
          parseStore(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as Error).message, bad).not.toContain('hunter2');
    }
  });

  it('takes the same settings as flags', () => {
    expect(flagsToEnv(['--agent-timeout', '90s', '--port=6000', '--store', 'memory'])).toEqual({
      REGISTRAR_AGENT_TIMEOUT: '90s', PORT: '6000', REGISTRAR_STORE: 'memory',
    });
    expect(() => flagsToEnv(['--port'])).toThrow(/needs a value/);
    expect(() => flagsToEnv(['stray'])).toThrow(/unexpected argument/);
    expect(() => loadConfig(flagsToEnv(['--agent-timout', '90s']))).toThrow(/unknown setting/);
  });
});
