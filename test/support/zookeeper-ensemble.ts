// A ZooKeeper ensemble for tests: Debian's zookeeper, one JVM per server, on random loopback ports
// (client, quorum and election port each), with their data folders in a temporary directory. The
// cluster tests kill its leader and start it again on the same data.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { type ClusterMember, clusterFolder, memberProcess } from './cluster-member.ts';
import { eventually } from './eventually.ts';
import { freePort } from './net.ts';

const JAR = process.env.ZOOKEEPER_JAR ?? '/usr/share/java/zookeeper.jar';
const JAVA = process.env.JAVA ?? 'java';

export const zookeeperMissing = (): string | undefined => (existsSync(JAR) ? undefined : `${JAR} not found (apt-get install -y zookeeper)`);

export interface ZooKeeperServer extends ClusterMember {
  /** 'leader', 'follower', or undefined while it serves no one (looking, starting, dead). */
  mode(): Promise<string | undefined>;
}

export interface ZooKeeperEnsemble {
  connectionString: string;
  servers: ZooKeeperServer[];
  leader(within?: number): Promise<ZooKeeperServer>;
  stop(): Promise<void>;
}

export interface EnsembleOptions {
  servers?: number;
  /** ZooKeeper's time unit; initLimit and syncLimit count in it. */
  tickTime?: number;
  initLimit?: number;
  syncLimit?: number;
}

export async function startZooKeeperEnsemble(opts: EnsembleOptions = {}): Promise<ZooKeeperEnsemble> {
  const count = opts.servers ?? 3;
  const base = await clusterFolder('registrar-zk-');
  const specs = await Promise.all(
    Array.from({ length: count }, async (_, i) => ({ id: i + 1, client: await freePort(), quorum: await freePort(), election: await freePort() })),
  );
  const servers = await Promise.all(
    specs.map(async (spec) => {
      const dir = join(base, `s${spec.id}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'myid'), String(spec.id));
      const config = join(dir, 'zoo.cfg');
      await writeFile(
        config,
        [
          `tickTime=${opts.tickTime ?? 200}`,
          `initLimit=${opts.initLimit ?? 10}`,
          `syncLimit=${opts.syncLimit ?? 5}`,
          // Sessions outlive an election: clients keep theirs across the leader's loss.
          'minSessionTimeout=1000',
          'maxSessionTimeout=30000',
          `dataDir=${dir}`,
          `clientPort=${spec.client}`,
          'clientPortAddress=127.0.0.1',
          'admin.enableServer=false',
          '4lw.commands.whitelist=ruok,srvr',
          'maxClientCnxns=0',
          ...specs.map((s) => `server.${s.id}=127.0.0.1:${s.quorum}:${s.election}`),
        ].join('\n'),
      );
      const args = ['-Xmx192m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dzookeeper.forceSync=no', '-cp', JAR, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', config];
      const server = memberProcess(`zk${spec.id}`, `127.0.0.1:${spec.client}`, JAVA, args);
      return Object.assign(server, {
        async mode() {
          const answer = await fourLetter(spec.client, 'srvr');
          return /Mode: (leader|follower)/.exec(answer)?.[1];
        },
      });
    }),
  );
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(base, { recursive: true, force: true });
  };
  const ensemble: ZooKeeperEnsemble = {
    connectionString: servers.map((s) => s.endpoint).join(','),
    servers,
    async leader(within = 15_000) {
      return eventually(
        'a ZooKeeper server that leads',
        async () => {
          for (const s of servers.filter((x) => x.running())) if ((await s.mode()) === 'leader') return s;
          const dead = servers.find((s) => s.exited());
          if (dead) throw new Error(`${dead.name} exited: ${dead.log()}`);
          return undefined;
        },
        (found) => found !== undefined,
        { within, every: 50 },
      ) as Promise<ZooKeeperServer>;
    },
    stop,
  };
  try {
    await ensemble.leader(90_000);
    // Every server serving, so that the first leader's loss leaves a quorum.
    await eventually('every ZooKeeper server serving', () => Promise.all(servers.map((s) => s.mode())), (modes) => modes.every(Boolean), { within: 60_000 });
  } catch (error) {
    const logs = servers.map((s) => `${s.name}: ${s.log()}`).join('\n');
    await stop();
    throw new Error(`ZooKeeper ensemble did not start: ${(error as Error).message}\n${logs}`);
  }
  return ensemble;
}

/** A four-letter-word command's answer ('' when the server does not answer). */
function fourLetter(port: number, command: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(command));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(''));
  });
}
