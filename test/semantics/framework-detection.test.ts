// Frameworks keep rule 5's detection bound like agents: a sweep that only renews the lease (scans are
// spaced by the registry's deadlines) must not let a framework's deadline pass unjudged.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FakeClock } from '../../src/clock.ts';
import { createRegistrar } from '../../src/registrar.ts';
import { defaultPolicy } from '../support/master.ts';

describe('framework detection', () => {
  const setup = async () => {
    const clock = new FakeClock();
    const policy = defaultPolicy();
    const registrar = createRegistrar({ store: createMemoryStore(), clock, policy });
    await registrar.sweep();
    const agent = await registrar.register({ info: { hostname: 'a1', port: 5051, resources: {}, attributes: {}, version: '' }, by: 'join' });
    // Sweeps every interval, the agent heartbeating every interval; returns when `until` holds or time is up.
    const run = async (ms: number, until: () => Promise<boolean>) => {
      const end = clock.now() + ms;
      let nextBeat = clock.now();
      while (clock.now() < end) {
        clock.advance(policy.sweepInterval);
        if (clock.now() >= nextBeat) {
          await registrar.heartbeat(agent.record.id, agent.secret, { epoch: agent.epoch });
          nextBeat += policy.heartbeatInterval;
        }
        await registrar.sweep();
        if (await until()) return clock.now();
      }
      return undefined;
    };
    return { clock, policy, registrar, run };
  };

  it('a silent framework is disconnected within the agents\' bound, though the agents leave nothing due', async () => {
    const { clock, policy, registrar, run } = await setup();
    const f = await registrar.registerFramework({ info: { name: 'spark' }, failoverTimeoutSeconds: 0, by: 'schedulers' });
    const silentSince = clock.now();
    const status = async () => (await registrar.getFramework(f.record.id)).status;
    const bound = policy.agentTimeout + policy.livenessGranularity + policy.sweepInterval + policy.maxClockSkew;
    const disconnectedAt = await run(bound + 10 * policy.livenessGranularity, async () => (await status()) !== 'active');
    expect(disconnectedAt, 'the framework was never disconnected').toBeDefined();
    expect(disconnectedAt! - silentSince).toBeLessThanOrEqual(bound);
  });

  it('a disconnected framework is completed when its failover timeout runs out, not a granularity later', async () => {
    const { policy, registrar, run } = await setup();
    const f = await registrar.registerFramework({ info: { name: 'spark' }, failoverTimeoutSeconds: 100, by: 'schedulers' });
    const status = async () => (await registrar.getFramework(f.record.id)).status;
    const disconnectedAt = await run(10 * policy.livenessGranularity, async () => (await status()) === 'disconnected');
    expect(disconnectedAt).toBeDefined();
    const completedAt = await run(10 * policy.livenessGranularity, async () => (await status()) === 'completed');
    expect(completedAt).toBeDefined();
    expect(completedAt! - disconnectedAt!).toBeLessThanOrEqual(100_000 + policy.sweepInterval + policy.maxClockSkew);
  });
});
