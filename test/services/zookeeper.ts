// vitest globalSetup for the zookeeper test service: a standalone ZooKeeper server (Debian's
// `zookeeper` package, run with java) on a random loopback port, with a throwaway data folder.
// Provides `zookeeper: { connectionString }`, or `{ skip }` when ZooKeeper is not installed
// (with CI=true that fails the run instead).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../support/net.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    zookeeper: { connectionString?: string; skip?: string };
  }
}

/** The server jar; its manifest's Class-Path names the dependencies from their Debian packages. */
const JAR = process.env.ZOOKEEPER_JAR ?? '/usr/share/java/zookeeper.jar';
const JAVA = process.env.JAVA ?? 'java';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const skip = (missing: string) => {
    if (process.env.CI === 'true') throw new Error(`ZooKeeper test service: ${missing}`);
    console.warn(`\n*** ZooKeeper test service unavailable, its tests are skipped: ${missing} ***\n`);
    project.provide('zookeeper', { skip: missing });
    return undefined;
  };
  if (!existsSync(JAR)) return skip(`${JAR} not found (apt-get install -y zookeeper)`);

  const dir = await mkdtemp(join(tmpdir(), 'registrar-zookeeper-'));
  const port = await freePort();
  const config = join(dir, 'zoo.cfg');
  await writeFile(
    config,
    [
      'tickTime=2000',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok',
      'maxClientCnxns=0',
    ].join('\n'),
  );
  // A quick-starting JVM, and no fsync per transaction: the data is thrown away anyway.
  const server = spawn(
    JAVA,
    ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dzookeeper.forceSync=no', '-cp', JAR, 'org.apache.zookeeper.server.ZooKeeperServerMain', config],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let spawnError: Error | undefined;
  server.once('error', (error) => {
    spawnError = error;
  });
  let stderr = '';
  server.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = async () => {
    await kill(server);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await ready(port, server, 60_000, () => spawnError);
  } catch (error) {
    await stop();
    if ((spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return skip(`${JAVA} not found (apt-get install -y zookeeper)`);
    throw new Error(`ZooKeeper test service did not start: ${(error as Error).message}\n${stderr}`);
  }
  project.provide('zookeeper', { connectionString: `127.0.0.1:${port}` });
  return stop;
}

/** Waits until the server answers `ruok` with `imok`. */
async function ready(port: number, server: ChildProcess, timeoutMs: number, spawnError: () => Error | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const error = spawnError();
    if (error) throw error;
    if (server.exitCode !== null) throw new Error(`java exited with code ${server.exitCode}`);
    if (await ruok(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function ruok(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end('ruok'));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('close', () => resolve(answer === 'imok'));
    socket.on('error', () => resolve(false));
  });
}

/** SIGTERM, then SIGKILL if the JVM has not exited after 5 s. */
async function kill(server: ChildProcess): Promise<void> {
  if (server.pid === undefined || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
