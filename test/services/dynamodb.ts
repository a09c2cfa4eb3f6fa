// vitest globalSetup for the dynamodb test service: DynamoDB Local (the real one, Java, shipped in the
// amplify-dynamodb-simulator package), in memory, on a free loopback port. Tests get its endpoint
// through inject('dynamodb'); each opens its own table.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TestProject } from 'vitest/node';
import { createTable } from '../../adapters/dynamodb/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DynamoDB Local's endpoint, or why it is not running. */
    dynamodb: { endpoint: string } | { skip: string };
  }
}

const launcher = fileURLToPath(new URL('./dynamodb-local.java', import.meta.url));
const READY_TIMEOUT = 60_000;

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const missing = whyUnavailable();
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`DynamoDB Local is required in CI: ${missing}`);
    console.warn(`\n*** DynamoDB Local unavailable, the dynamodb store will NOT be tested: ${missing} ***\n`);
    project.provide('dynamodb', { skip: missing });
    return undefined;
  }
  const cwd = await mkdtemp(join(tmpdir(), 'registrar-dynamodb-'));
  const child = spawn(
    'java',
    ['-XX:-UsePerfData', `-Djava.library.path=${join(emulatorDir(), 'DynamoDBLocal_lib')}`, '-cp', join(emulatorDir(), 'DynamoDBLocal.jar'), launcher],
    { cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  const stop = async () => {
    await kill(child);
    await rm(cwd, { recursive: true, force: true });
  };
  try {
    const endpoint = await ready(child);
    await warmUp(endpoint);
    project.provide('dynamodb', { endpoint });
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}

function emulatorDir(): string {
  const main = createRequire(import.meta.url).resolve('amplify-dynamodb-simulator');
  return join(dirname(main), 'emulator');
}

function whyUnavailable(): string | undefined {
  let jar: string;
  try {
    jar = join(emulatorDir(), 'DynamoDBLocal.jar');
  } catch {
    return 'the amplify-dynamodb-simulator package is not installed';
  }
  if (!existsSync(jar)) return `${jar} is missing`;
  const java = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (java.error || java.status !== 0) return 'java is not installed (DynamoDB Local needs Java 17 or later)';
  return undefined;
}

/** Resolves with the endpoint once DynamoDB Local says where it listens. */
function ready(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const timer = setTimeout(() => reject(new Error(`DynamoDB Local did not start within ${READY_TIMEOUT} ms: ${stderr}`)), READY_TIMEOUT);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`DynamoDB Local exited (${code}) before it was ready: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const port = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

/** The first table takes DynamoDB Local seconds to make (class loading, SQLite): pay that here, not in a test. */
async function warmUp(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await createTable(client, 'warm-up');
    await client.send(new DeleteTableCommand({ TableName: 'warm-up' }));
  } finally {
    client.destroy();
  }
}

/** Closing stdin asks the launcher to exit; its whole process group is killed if it does not. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin!.end();
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }
}
