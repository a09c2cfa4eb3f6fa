// The Node server as a user starts it: configuration errors, tokens generated for LevelDB, a clean stop.
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../support/net.ts';
import { spawnNode, type Proc } from '../support/processes.ts';

const running: Proc[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
});
const master = (env: Record<string, string>) => {
  const p = spawnNode('src/node.ts', [], { REGISTRAR_HOST: '127.0.0.1', ...env });
  running.push(p);
  return p;
};

describe('the Node server', { timeout: 60_000 }, () => {
  it('refuses a bad setting with one clear line and exit code 2', async () => {
    const p = master({ REGISTRAR_AGENT_TIMEOUT: 'soon' });
    expect(await p.exited).toBe(2);
    expect(p.lines).toEqual(['registrar: REGISTRAR_AGENT_TIMEOUT: "soon" is not a duration (use e.g. 500ms, 15s, 10m, 14d)']);
  });

  it('refuses a shared store without tokens (exit code 2)', async () => {
    const p = master({ REGISTRAR_STORE: 'memory', PORT: String(await freePort()) });
    expect(await p.exited).toBe(2);
    expect(p.lines.join('\n')).toMatch(/REGISTRAR_JOIN_TOKEN and REGISTRAR_OPERATOR_TOKEN are required with the memory store/);
  });

  it('with LevelDB, generates tokens on first start, keeps them private, names where they are (never prints them to a pipe), and stops cleanly', async () => {
    const data = join(await mkdtemp(join(tmpdir(), 'registrar-node-')), 'data');
    const env = { REGISTRAR_STORE: `leveldb:${data}`, PORT: String(await freePort()) };
    const first = master(env);
    await first.waitFor(/"master listening"/);
    const saved = JSON.parse(await readFile(join(data, 'tokens.json'), 'utf8')) as { joinToken: string; operatorToken: string };
    expect((await stat(join(data, 'tokens.json'))).mode & 0o777).toBe(0o600);
    // Its output is a pipe here, not a terminal: it may end in a log, so the tokens are not in it.
    expect(first.lines.join('\n')).not.toContain(saved.joinToken);
    expect(first.lines.join('\n')).not.toContain(saved.operatorToken);
    expect(first.lines.join('\n')).toContain(join(data, 'tokens.json'));
    const res = await fetch(`http://127.0.0.1:${env.PORT}/api/v1/master`, { headers: { authorization: `Bearer ${saved.operatorToken}` } });
    expect(res.status).toBe(200);
    // A request's id reaches the lines written for it, the registrar's too (AsyncLocalStorage, with
    // the flag npm start passes).
    const joined = await fetch(`http://127.0.0.1:${env.PORT}/api/v1/agents`, {
      method: 'POST', headers: { authorization: `Bearer ${saved.joinToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ hostname: 'a1' }),
    });
    expect(joined.status).toBe(201);
    const requestId = joined.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    expect(await first.waitFor(new RegExp(`"requestId":"${requestId}"`))).toMatch(/"agent admitted"/);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.lines.join('\n')).toMatch(/"master stopped"/);

    const second = master(env);
    await second.waitFor(/"master listening"/);
    expect(second.lines.join('\n')).not.toContain(saved.joinToken);
    const again = await fetch(`http://127.0.0.1:${env.PORT}/api/v1/master`, { headers: { authorization: `Bearer ${saved.operatorToken}` } });
    expect(again.status).toBe(200);
  });

  it('answers a request in flight before it stops', async () => {
    const data = join(await mkdtemp(join(tmpdir(), 'registrar-node-')), 'data');
    const port = String(await freePort());
    const p = master({ REGISTRAR_STORE: `leveldb:${data}`, PORT: port, REGISTRAR_JOIN_TOKEN: 'join-token-0123456789', REGISTRAR_OPERATOR_TOKEN: 'operator-token-0123456789' });
    await p.waitFor(/"master listening"/);
    // A registration whose body is still arriving when SIGTERM comes: it must still be answered.
    // `Expect: 100-continue` makes the server say when it has the headers and the request is in flight.
    const body = JSON.stringify({ hostname: 'in-flight' });
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `POST /api/v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer join-token-0123456789\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
    );
    await eventually('the server to take the request (100 Continue)', () => text, (t) => t.startsWith('HTTP/1.1 100 Continue\r\n\r\n'));
    p.child.kill('SIGTERM');
    await p.waitFor(/"shutting down"/);
    socket.write(body.slice(5));
    await closed;
    expect(text).toMatch(/^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 201 /);
    expect(await p.exited).toBe(0);
  });
});
