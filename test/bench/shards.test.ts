// The shard simulation (bench/shards.ts) is a model; these check it against the product it models:
// the share of heartbeats that reach a shard is what the real registrar does on one instance, and a
// failover brings every agent back, shedding only past a shard's ceiling.
import { describe, expect, it } from 'vitest';
import { measureOperations } from '../../bench/operations.ts';
import { simulateShardRun } from '../../bench/shards.ts';

describe('the shard simulation', () => {
  it('sends a shard the heartbeats the real registrar would handle itself (due writes), within two points', async () => {
    const real = await measureOperations(300, 8);
    const reaching = Math.max(real.perHeartbeat.commits, real.perHeartbeat.gets);
    const sim = simulateShardRun(3_000, 1, { steadySeconds: 240 });
    expect(reaching).toBeGreaterThan(0.1);
    expect(1 - sim.edgeShare).toBeGreaterThan(reaching - 0.02);
    expect(1 - sim.edgeShare).toBeLessThan(reaching + 0.02);
  });

  it('brings every agent back after a failover, within the window, and sheds nothing under the ceiling', () => {
    const run = simulateShardRun(20_000, 4, { steadySeconds: 120 });
    expect(run.reregistered).toBe(20_000);
    expect(run.failoverSeconds).toBeLessThanOrEqual(run.windowSeconds);
    // 5,000 agents a shard: about 70 requests/s steady, far below 1,000/s.
    expect(run.steadyShed).toBe(0);
    expect(run.steadyPeak).toBeLessThan(1_000);
    expect(run.failoverShed).toBe(0);
  });

  it('sheds past the ceiling and still brings everyone back: the client retries', () => {
    // 40,000 agents on one shard: their 409s and re-registrations come within seconds of each other.
    const run = simulateShardRun(40_000, 1, { steadySeconds: 60 });
    expect(run.failoverPeak).toBeGreaterThan(1_000);
    expect(run.failoverShed).toBeGreaterThan(0);
    expect(run.reregistered).toBe(40_000);
    expect(run.failoverSeconds).toBeLessThanOrEqual(run.windowSeconds);
  });
});
