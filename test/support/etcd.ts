// etcd members for tests: Debian's etcd-server (/usr/bin/etcd) on random loopback ports, each with
// its data folder in a temporary directory (in memory under /dev/shm where there is one: fsyncs
// cost nothing, and the data is thrown away anyway). One member for the conformance suite, three
// for the cluster tests, which kill the leader and start it again on the same data.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClusterMember, clusterFolder, memberProcess } from './cluster-member.ts';
import { eventually } from './eventually.ts';
import { freePort } from './net.ts';

export const ETCD = process.env.ETCD ?? '/usr/bin/etcd';

/** Why etcd cannot run here, if it cannot. */
export const etcdMissing = (): string | undefined => (existsSync(ETCD) ? undefined : `${ETCD} not found (apt-get install -y etcd-server)`);

export type EtcdMember = ClusterMember;

export interface EtcdCluster {
  endpoints: string[];
  members: EtcdMember[];
  /** Resolves once a member answers with a leader, naming the leader. */
  leader(within?: number): Promise<EtcdMember>;
  /** Resolves once the named member runs and knows a leader (a restarted member has rejoined). */
  memberServing(name: string, within?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface EtcdClusterOptions {
  members?: number;
  /** Raft timings (etcd's defaults are 100 and 1000 ms). */
  heartbeatMs?: number;
  electionTimeoutMs?: number;
  /** How long to wait for the cluster to elect its first leader. */
  startWithin?: number;
}

export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const count = opts.members ?? 1;
  const base = await clusterFolder('registrar-etcd-');
  const specs = await Promise.all(
    Array.from({ length: count }, async (_, i) => ({ name: `m${i + 1}`, client: await freePort(), peer: await freePort() })),
  );
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const members = specs.map((spec) => {
    const args = [
      '--name', spec.name,
      '--data-dir', join(base, spec.name),
      '--listen-client-urls', `http://127.0.0.1:${spec.client}`,
      '--advertise-client-urls', `http://127.0.0.1:${spec.client}`,
      '--listen-peer-urls', `http://127.0.0.1:${spec.peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${spec.peer}`,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', base,
      '--heartbeat-interval', String(opts.heartbeatMs ?? 100),
      '--election-timeout', String(opts.electionTimeoutMs ?? 1000),
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    return memberProcess(spec.name, `127.0.0.1:${spec.client}`, ETCD, args);
  });

  const stop = async () => {
    await Promise.all(members.map((m) => m.stop()));
    await rm(base, { recursive: true, force: true });
  };
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.endpoint),
    members,
    async leader(within = 15_000) {
      const seen = await eventually(
        'an etcd member that names a leader',
        async () => {
          for (const m of members.filter((x) => x.running())) {
            const status = await memberStatus(m.endpoint);
            const leader = status && members.find((x) => x.running() && x.name === status.leaderName);
            if (leader) return leader;
          }
          const dead = members.find((m) => m.exited());
          return dead ? `${dead.name} exited: ${dead.log()}` : undefined;
        },
        (found) => found !== undefined,
        { within, every: 50 },
      );
      if (typeof seen === 'string') throw new Error(seen);
      return seen!;
    },
    async memberServing(name, within = 30_000) {
      const member = members.find((m) => m.name === name)!;
      await eventually(`${name} serving with a leader`, async () => member.running() && (await memberStatus(member.endpoint))?.leaderName, Boolean, { within });
    },
    stop,
  };
  try {
    await cluster.leader(opts.startWithin ?? 60_000);
  } catch (error) {
    const logs = members.map((m) => `${m.name}: ${m.log()}`).join('\n');
    await stop();
    throw new Error(`etcd did not start: ${(error as Error).message}\n${logs}`);
  }
  return cluster;
}

/** The member's view of the cluster from the gRPC gateway: who leads (by member name), if anyone. */
async function memberStatus(endpoint: string): Promise<{ leaderName?: string } | undefined> {
  try {
    const post = async (path: string) => {
      const res = await fetch(`http://${endpoint}${path}`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1_000) });
      return res.ok ? ((await res.json()) as Record<string, any>) : undefined;
    };
    const status = await post('/v3/maintenance/status');
    if (!status?.leader || status.leader === '0') return {};
    const list = await post('/v3/cluster/member/list');
    const leader = (list?.members as { ID: string; name: string }[] | undefined)?.find((m) => m.ID === status.leader);
    return { leaderName: leader?.name };
  } catch {
    return undefined;
  }
}
