// Real master and agent processes for end-to-end tests: spawned from the project root on Node 22,
// on loopback, with their JSON log lines collected so tests can wait for them.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.ts';
import { ASYNC_CONTEXT_FRAME } from '../../src/request-context.ts';
import { FAST } from './timings.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first log line matching, or rejects after the timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnNode(script: string, args: string[], env: Record<string, string>): Proc {
  // With the flag `npm start` passes, so the server runs here as users run it.
  const child = spawn(process.execPath, [ASYNC_CONTEXT_FRAME, script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${lines.join('\n')}`)), timeoutMs);
        waiters.push({ pattern, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      if (child.signalCode === 'SIGKILL' && signal !== 'SIGKILL') throw new Error(`${script} did not stop on ${signal}; output:\n${lines.join('\n')}`);
      return code;
    },
  };
}

export { FAST };

export const JOIN = 'e2e-join-token-0123456789';
export const OPERATOR = 'e2e-operator-token-0123456789';
export const FRAMEWORK = 'e2e-framework-token-0123456789';


/** Starts a master; give the same PORT to a restarted master so that its agents find it again. */
export async function startMaster(env: Record<string, string>) {
  const proc = spawnNode('src/node.ts', [], {
    PORT: String(await freePort()),
    REGISTRAR_HOST: '127.0.0.1',
    REGISTRAR_JOIN_TOKEN: JOIN,
    REGISTRAR_OPERATOR_TOKEN: OPERATOR,
    REGISTRAR_FRAMEWORK_TOKEN: FRAMEWORK,
    ...FAST,
    ...env,
  });
  const line = await proc.waitFor(/"master listening"/);
  const url = (JSON.parse(line) as { url: string }).url;
  const operator = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${OPERATOR}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { ...proc, url, operator };
}

export function startAgent(url: string, hostname: string, stateFile: string, extra: string[] = []) {
  return spawnNode('src/cli.ts', ['agent', '--master', url, '--join-token', JOIN, '--hostname', hostname, '--state-file', stateFile, ...extra], {});
}
