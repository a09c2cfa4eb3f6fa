// One member of a store cluster started by a test (etcd, ZooKeeper): a process that can be killed as a
// crashed machine is and started again on the same data, keeping the tail of its stderr for a
// failure message. The data folder lives in memory under /dev/shm where there is one.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClusterMember {
  name: string;
  /** host:port of its client port. */
  endpoint: string;
  running(): boolean;
  /** SIGKILL: no goodbye to the cluster, as a crashed machine. */
  kill(): Promise<void>;
  /** Starts it again on its data folder. */
  restart(): Promise<void>;
}

export interface MemberProcess extends ClusterMember {
  /** Exited by itself (not killed): it could not start or crashed. */
  exited(): boolean;
  /** The last 4,000 characters of its stderr since it last started. */
  log(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/** A temporary folder for a cluster's data: in memory where /dev/shm exists (fsyncs cost nothing there). */
export const clusterFolder = (prefix: string) => mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix));

/** Starts `command` now; `restart()` starts it again with the same arguments once it is down. */
export function memberProcess(name: string, endpoint: string, command: string, args: string[]): MemberProcess {
  let child: ChildProcess | undefined;
  let stderr = '';
  const start = () => {
    stderr = '';
    const proc = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    proc.once('error', () => undefined);
    child = proc;
  };
  const member: MemberProcess = {
    name,
    endpoint,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    exited: () => child !== undefined && child.exitCode !== null && child.signalCode === null,
    kill: () => stopProcess(child, 'SIGKILL'),
    async restart() {
      if (member.running()) throw new Error(`${name} is still running`);
      start();
    },
    log: () => stderr,
    stop: () => stopProcess(child, 'SIGTERM'),
  };
  start();
  return member;
}

async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
