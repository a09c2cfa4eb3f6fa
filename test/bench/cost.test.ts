// The cost model (bench/cost.ts) on a fixed operation profile: each platform is priced as the project
// deploys it, from the prices in bench/prices.json.
import { describe, expect, it } from 'vitest';
import { costs, heartbeatTally, prices } from '../../bench/cost.ts';
import { emptyTally, type Tally } from '../../bench/counting-store.ts';
import type { OperationProfile } from '../../bench/operations.ts';

const tally = (t: Partial<Tally>): Tally => ({ ...emptyTally(), ...t });

/** 1,000 agents heartbeating every 15 s for 10 minutes; a due write a minute; a scan reads each record once a minute. */
const profile = (instances: number): OperationProfile => ({
  agents: 1_000,
  instances,
  minutes: 10,
  heartbeats: 40_000,
  sweeps: 120,
  masterGets: 10,
  heartbeatIntervalMs: 15_000,
  sweepIntervalMs: 5_000,
  perHeartbeat: tally({ commits: 0.25, puts: 0.25, dynamoWriteUnits: 0.25, gets: instances > 1 ? 0.2 : 0, agentGets: instances > 1 ? 0.2 : 0, getItems: instances > 1 ? 0.2 : 0, dynamoGetUnits: instances > 1 ? 0.2 : 0 }),
  perSweep: tally({ gets: 1, commits: 1, puts: 1, lists: 1 / 12, listItems: 1_000 / 12, dynamoQueryUnits: 20, dynamoWriteUnits: 1 }),
  perMasterGet: tally({ gets: 1 }),
  cpuMsPerHeartbeat: 0.05,
  failed: 0,
  marked: 0,
});

const all = costs({ one: profile(1), spread: profile(8) });
const at = (platform: string, agents: number) => all.find((c) => c.platform === platform && c.agents === agents)!;

describe('the cost model', () => {
  it('bills Cloud Run by instance, as it is deployed (CPU always allocated, at least one instance): no per-request fee', () => {
    const { cloudRun } = prices.google;
    const { secondsPerMonth, floorHeartbeatSeconds, cloudRunVcpu, cloudRunMemoryGib } = prices.assumptions;
    const oneInstance = secondsPerMonth * (cloudRunVcpu * cloudRun.instanceVcpuSecond + cloudRunMemoryGib * cloudRun.instanceGibSecond);
    for (const agents of [1_000, 10_000, 100_000]) {
      const c = at('Cloud Run + Firestore', agents);
      expect(Object.keys(c.lines)).not.toContain('requests');
      expect(c.lines['instance time']).toBeGreaterThanOrEqual(oneInstance);
      // The yardstick stays the runtime's request price × a request per agent every 15 s.
      expect(c.floor).toBeCloseTo(((agents * secondsPerMonth) / floorHeartbeatSeconds) * (cloudRun.requestPerMillion / 1e6), 6);
    }
    // 1,000 agents need one instance: they pay for exactly that.
    expect(at('Cloud Run + Firestore', 1_000).lines['instance time']).toBeCloseTo(oneInstance, 6);
  });

  it('charges the Lambda sweeper its memory for every minute it waits, and the Lambda requests per heartbeat', () => {
    const c = at('Lambda + DynamoDB', 1_000);
    const { lambda } = prices.aws;
    const { secondsPerMonth, lambdaSweeperMemoryGb, lambdaSweeperScheduleSeconds } = prices.assumptions;
    const waiting = (secondsPerMonth / lambdaSweeperScheduleSeconds) * (lambdaSweeperScheduleSeconds - 15) * lambdaSweeperMemoryGb * lambda.gbSecondArm64;
    expect(c.lines['sweeper runs (Lambda)']).toBeGreaterThan(waiting);
    expect(c.lines['API requests']).toBeCloseTo((40_000 / (1_000 * 600)) * 1_000 * secondsPerMonth * (lambda.requestPerMillion / 1e6), 6);
  });

  it("adds each instance's own reads for the number of instances and the fleet's heartbeat rate, not per heartbeat as measured", () => {
    // Measured: 1,000 agents (66.7 heartbeats/s) over 8 instances, 0.05 reads a heartbeat of master alone.
    const spread = { ...profile(8), perHeartbeat: tally({ gets: 0.05, getItems: 0.05, dynamoGetUnits: 0.05, commits: 0.25, patches: 0.25 }) };
    const ps = { one: profile(1), spread };
    // The same 8 instances under ten times the heartbeats read a tenth as much per heartbeat; two read a quarter of that.
    expect(heartbeatTally(ps, { instances: 8, cached: false }, 10_000).gets).toBeCloseTo(0.005, 6);
    expect(heartbeatTally(ps, { instances: 2, cached: false }, 10_000).gets).toBeCloseTo(0.00125, 6);
    // Without a cached record every due write is a patch, whatever the number of instances; with one, a put.
    expect(heartbeatTally(ps, { instances: 2, cached: false }, 1_000)).toMatchObject({ patches: 0.25, puts: 0 });
    expect(heartbeatTally(ps, { instances: 1, cached: true }, 1_000)).toMatchObject({ patches: 0, puts: 0.25 });
  });
});
