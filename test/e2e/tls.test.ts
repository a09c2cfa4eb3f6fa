// The Node server over TLS (REGISTRAR_TLS_CERT / REGISTRAR_TLS_KEY) and an agent that trusts a private
// CA (--ca-file): certificates made here with openssl, a new one picked up on SIGHUP.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/client.ts';
import type { AgentState, StateFile } from '../../src/agent/state.ts';
import { loadConfig } from '../../src/config.ts';
import { startNodeMaster, type RunningMaster } from '../../src/node.ts';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../support/net.ts';

const JOIN = 'join-token-0123456789';
const OPERATOR = 'operator-token-0123456789';

const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!openssl) {
  if (process.env.CI === 'true') throw new Error('openssl is required for the TLS tests under CI=true (apt-get install openssl)');
  console.warn('\n*** openssl not found: the TLS tests are SKIPPED ***\n');
}

/** A CA, and a server certificate for localhost / 127.0.0.1 signed by it, in `dir`. */
function makeCertificates(dir: string, name: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=registrar test CA ${name}`, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`);
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', `${name}.key`, '-out', `${name}.csr`);
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ${name}.ext`], { cwd: dir });
  run('x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  return { ca: join(dir, `${name}-ca.pem`), cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

function memoryState(): StateFile & { current(): AgentState | undefined } {
  let state: AgentState | undefined;
  return {
    load: async () => state,
    save: async (s) => {
      state = s;
    },
    current: () => state,
  };
}

/** The certificate the server presents to a new connection, as its fingerprint. */
function presented(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      resolve(new X509Certificate(socket.getPeerX509Certificate()!.raw).fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe.skipIf(!openssl)('the Node server over TLS', () => {
  let dir: string;
  let first: ReturnType<typeof makeCertificates>;
  let master: RunningMaster;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registrar-tls-'));
    first = makeCertificates(dir, 'first');
    port = await freePort();
    const config = loadConfig({
      PORT: String(port), REGISTRAR_HOST: '127.0.0.1', REGISTRAR_STORE: 'memory',
      REGISTRAR_JOIN_TOKEN: JOIN, REGISTRAR_OPERATOR_TOKEN: OPERATOR, REGISTRAR_FRAMEWORK_TOKEN: 'tls-framework-token-0123456789',
      REGISTRAR_TLS_CERT: first.cert, REGISTRAR_TLS_KEY: first.key,
    });
    master = await startNodeMaster(config, () => {});
  }, 60_000);

  afterAll(async () => {
    await master?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves HTTPS, and an agent trusting the private CA registers over it', async () => {
    expect(master.url).toBe(`https://127.0.0.1:${port}`);
    const state = memoryState();
    const agent = createAgent({ master: `https://localhost:${port}`, joinToken: JOIN, info: { hostname: 'tls-1' }, state, ca: await readFile(first.ca, 'utf8') });
    const running = agent.run();
    await eventually('the agent registered over TLS', () => state.current(), (s) => s?.registered === true);
    agent.stop();
    expect(await running).toMatchObject({ reason: 'stopped' });
  });

  it('an agent that does not trust the CA never gets through', async () => {
    const logs: string[] = [];
    const agent = createAgent({ master: `https://localhost:${port}`, joinToken: JOIN, info: { hostname: 'tls-2' }, state: memoryState(), log: (m, f) => void logs.push(`${m} ${JSON.stringify(f)}`) });
    const running = agent.run();
    await eventually('the agent failed to reach the master', () => logs.join('\n'), (l) => /master unreachable/.test(l));
    agent.stop();
    await running;
  });

  it('takes a new certificate on reload (SIGHUP) for new connections', async () => {
    const ca = await readFile(first.ca, 'utf8');
    const before = await presented(port, ca);
    const second = makeCertificates(dir, 'second');
    // The same files, rewritten in place, as a certificate renewal does.
    execFileSync('cp', [second.cert, first.cert]);
    execFileSync('cp', [second.key, first.key]);
    await master.reloadTls();
    const after = await presented(port, await readFile(second.ca, 'utf8'));
    expect(after).not.toBe(before);
    expect(after).toBe(new X509Certificate(await readFile(second.cert)).fingerprint256);
  });
});
