// A three-member etcd cluster loses its leader twice while three registrars take writes (leader-loss.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdStore } from '../../adapters/etcd/index.ts';
import { type EtcdCluster, etcdMissing, startEtcdCluster } from '../support/etcd.ts';
import { leaderLoss, STORE_TIMEOUT_MS } from './leader-loss.ts';

// Short Raft timings so that an election takes about a second, yet long enough that a loaded
// 2-core machine does not start elections of its own.
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1_000;

const skip = etcdMissing();
if (skip && process.env.CI === 'true') throw new Error(`etcd cluster test: ${skip}`);

describe.skipIf(skip)(`a three-member etcd cluster${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster({ members: 3, heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_MS });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('loses no acknowledged write, answers 503 and never a wrong 2xx or 409, and resumes by itself when its leader is killed', { timeout: 120_000 }, async () => {
    const prefix = `/cluster-${Date.now()}`;
    const report = await leaderLoss({
      name: 'etcd (3 members)',
      open: (timeoutMs) => createEtcdStore({ endpoints: cluster.endpoints, prefix, requestTimeoutMs: timeoutMs }),
      leader: () => cluster.leader(),
      serving: async (member) => {
        await cluster.leader();
        await cluster.memberServing(member.name);
      },
      // Followers wait up to two election timeouts (randomized) before they campaign; then calls
      // already waiting end at their deadline, and a loaded machine adds some seconds (2.6 s at
      // most with the whole suite beside it on 2 cores).
      resumeWithinMs: 2 * ELECTION_MS + 2 * STORE_TIMEOUT_MS + 8_000,
    });
    expect(report.windows).toHaveLength(2);
    // Writes wait at least one election timeout for a new leader, longer than a request may take.
    expect(report.unavailable, 'requests during the elections answered 503').toBeGreaterThan(0);
  });
});
