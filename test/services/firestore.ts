// vitest globalSetup for the firestore test service: the Firestore emulator from the Google Cloud SDK,
// on a random loopback port. It ships with the SDK, which some machines lack: there (even under
// CI=true) every Firestore test is skipped, with one loud line saying why. Where the SDK is installed
// the emulator must run: under CI=true a missing emulator component fails the run. Also the helpers
// tests use to reach it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Firestore } from '@google-cloud/firestore';
import type { TestProject } from 'vitest/node';
import { faultSwitch, type FaultInjector } from '../conformance/faults.ts';
import { freePort } from '../support/net.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The emulator's host:port, or why Firestore cannot be tested here. */
    firestore: { host: string } | { skip: string };
  }
}

const EMULATOR_JAR = 'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar';
const EMULATOR_MAIN = 'com.google.cloud.datastore.emulator.firestore.CloudFirestore';
// The emulator reads and sorts a whole collection for every query, so each page of a 100,000-record
// scan makes a lot of short-lived garbage: a large young generation and the serial collector cut its
// CPU time by about a third on two cores (measured against the default G1).
const JVM_OPTIONS = ['-XX:+UseSerialGC', '-Xmn1g'];
// No Google credentials are involved: never probe a metadata server.
const serviceEnv = { ...process.env, METADATA_SERVER_DETECTION: 'none' };

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const jar = await findEmulatorJar();
  if ('missing' in jar) {
    if (jar.sdkInstalled && process.env.CI === 'true') throw new Error(`the Firestore emulator is required in CI where the Google Cloud SDK is installed: ${jar.missing}`);
    console.warn(`\n*** Firestore went UNTESTED on this machine: ${jar.missing} ***\n`);
    project.provide('firestore', { skip: jar.missing });
    return undefined;
  }
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'registrar-firestore-'));
  const emulator = spawn('java', [...JVM_OPTIONS, '-cp', jar.path, EMULATOR_MAIN, 'start', '--host=127.0.0.1', `--port=${port}`], {
    cwd: dir,
    env: serviceEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so teardown ends everything it started
  });
  let output = '';
  emulator.once('error', (err) => {
    output += `\n${err.message}`; // e.g. no java on PATH; the exit below reports it
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  emulator.stdout!.on('data', keep);
  emulator.stderr!.on('data', keep);
  // Should this process end without teardown, take the emulator with it.
  const killOnExit = () => signalGroup(emulator, 'SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    await stopProcessGroup(emulator);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(`http://127.0.0.1:${port}/`, emulator);
  } catch (err) {
    await stop();
    throw new Error(`the Firestore emulator did not start: ${(err as Error).message}\n${output}`);
  }
  project.provide('firestore', { host: `127.0.0.1:${port}` });
  return stop;
}

async function findEmulatorJar(): Promise<{ path: string } | { missing: string; sdkInstalled: boolean }> {
  let root: string;
  try {
    const { stdout } = await promisify(execFile)('gcloud', ['info', '--format=value(installation.sdk_root)'], { env: serviceEnv, timeout: 60_000 });
    root = stdout.trim();
  } catch (err) {
    const notInstalled = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { missing: notInstalled ? 'the Google Cloud SDK (gcloud) is not installed' : `gcloud info failed: ${(err as Error).message}`, sdkInstalled: !notInstalled };
  }
  const path = join(root, EMULATOR_JAR);
  try {
    await access(path);
  } catch {
    return { missing: `no Firestore emulator at ${path} (gcloud components install cloud-firestore-emulator)`, sdkInstalled: true };
  }
  return { path };
}

async function waitUntilReady(url: string, emulator: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (emulator.exitCode !== null || emulator.signalCode !== null || emulator.pid === undefined) {
      throw new Error(`it exited (${emulator.exitCode ?? emulator.signalCode ?? 'not started'})`);
    }
    const ready = await fetch(url).then((r) => r.ok, () => false);
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready after ${timeoutMs / 1000} s`);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A client of the emulator, in a project of its own (projects keep emulator data apart). */
export function emulatorClient(host: string, projectId: string): Firestore {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  return new Firestore({ projectId, host, ssl: false });
}

/** Drops every document of a project on the emulator at once. */
export async function clearEmulatorProject(host: string, projectId: string): Promise<void> {
  const res = await fetch(`http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`clearing Firestore project ${projectId}: HTTP ${res.status}`);
}

export type CommitFault = 'before' | 'after' | 'resent';

/**
 * Lets a test fail a client's next commit the way a network does: 'before' fails it unsent
 * (UNAVAILABLE); 'after' lets the emulator apply it and then loses the answer (DEADLINE_EXCEEDED);
 * 'resent' applies it, loses the answer and sends it again, answering with the second answer, as the
 * SDK does when it retries an UNAVAILABLE commit. Counts the faults that fired. It wraps Firestore#request, the SDK's one funnel
 * for unary calls such as commit (internal, hence the cast); the adapter above it sees exactly what
 * a real failure would show it.
 */
export function commitFaults(firestore: Firestore): FaultInjector<CommitFault> {
  const client = firestore as unknown as { request(method: string, ...rest: unknown[]): Promise<unknown> };
  const send = client.request.bind(firestore);
  const faults = faultSwitch<CommitFault>();
  client.request = async (method, ...rest) => {
    const fault = method === 'commit' ? faults.take() : undefined;
    if (fault === undefined) return send(method, ...rest);
    if (fault === 'before') throw grpcError(14, 'UNAVAILABLE', 'injected: the commit was never sent');
    await send(method, ...rest);
    if (fault === 'resent') return send(method, ...rest);
    throw grpcError(4, 'DEADLINE_EXCEEDED', 'injected: the commit was applied, its answer lost');
  };
  return faults;
}

const grpcError = (code: number, name: string, details: string) => Object.assign(new Error(`${code} ${name}: ${details}`), { code, details });
