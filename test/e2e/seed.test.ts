// The seed scenario on real processes: a master, real agent clients, a failover during which one
// agent dies for good; the next master notices it through the registry.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config.ts';
import { eventually, untilTime } from '../support/eventually.ts';
import { startAgent, startMaster, type Proc } from '../support/processes.ts';
import { e2eStores, scenarioEnv } from './stores.ts';

const running: Proc[] = [];
/**
 * Waits until a master that had exited by `stoppedAt` has lost its lease by more than the clock
 * skew, as the next master must find it to start a new epoch. Its last sweep began before then, so
 * its lease ends by `stoppedAt` + the lease: a time the rules fix, not a guess at how long anything takes.
 */
const lapse = (stoppedAt: number, env: Record<string, string>) =>
  untilTime(stoppedAt + parseDuration('lease', env.REGISTRAR_MASTER_LEASE!) + parseDuration('skew', env.REGISTRAR_MAX_CLOCK_SKEW!), 'the lease to lapse');
/** Deadlines: generous for a loaded machine, well inside the test's timeout. */
const WITHIN = { within: 30_000 };
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
});
const track = <T extends Proc>(p: T) => {
  running.push(p);
  return p;
};

for (const store of e2eStores()) {
  describe.skipIf(store.skip)(`seed scenario on ${store.name}`, { timeout: 120_000 }, () => {
    type Agent = { id: string; status: string; info: { hostname: string }; epoch: number };
    const agentsOf = async (m: Awaited<ReturnType<typeof startMaster>>) => (await m.operator('GET', '/agents?limit=1000')).body.agents as Agent[];
    const byHost = (agents: Agent[], host: string) => agents.find((a) => a.info.hostname === host);
    const stateDir = () => mkdtemp(join(tmpdir(), 'registrar-agent-'));

    it('marks an agent that died while no master ran unreachable after the window, and keeps the live one', async () => {
      const env = await scenarioEnv(store);
      const dir = await stateDir();
      let master = track(await startMaster(env));
      const live = track(startAgent(master.url, 'live', join(dir, 'live.json')));
      const doomed = track(startAgent(master.url, 'doomed', join(dir, 'doomed.json')));
      await eventually('two agents registered', () => agentsOf(master), (agents) => agents.length === 2, WITHIN);
      const firstEpoch = (await master.operator('GET', '/master')).body.epoch;

      await master.stop();
      const stoppedAt = Date.now();
      await doomed.stop('SIGKILL'); // dies for good while no master runs
      await lapse(stoppedAt, env); // no master runs until the lease has lapsed
      master = track(await startMaster(env));

      const status = (await master.operator('GET', '/master')).body;
      expect(status.epoch).toBeGreaterThan(firstEpoch);
      expect(status.recovery.state).toBe('recovering');
      await eventually('the live agent re-registered', () => agentsOf(master), (agents) => byHost(agents, 'live')?.epoch === status.epoch, WITHIN);
      const after = await eventually('the dead agent marked unreachable', () => agentsOf(master), (agents) => byHost(agents, 'doomed')?.status === 'unreachable', WITHIN);
      expect(byHost(after, 'live')?.status).toBe('admitted');
      expect(live.child.exitCode).toBeNull(); // the live agent kept running through the failover
      expect((await master.operator('GET', '/master')).body.recovery.state).toBe('done');
    });

    it('keeps the epoch and marks nobody when a master restarts within its lease', async () => {
      // A lease far longer than a restart takes on a loaded machine.
      const env = { ...(await scenarioEnv(store)), REGISTRAR_MASTER_LEASE: '20s', REGISTRAR_AGENT_TIMEOUT: '25s' };
      const dir = await stateDir();
      let master = track(await startMaster(env));
      track(startAgent(master.url, 'a', join(dir, 'a.json')));
      await eventually('the agent registered', () => agentsOf(master), (agents) => agents.length === 1, WITHIN);
      const epoch = (await master.operator('GET', '/master')).body.epoch;
      await master.stop();
      master = track(await startMaster(env));
      const status = (await master.operator('GET', '/master')).body;
      expect(status.epoch).toBe(epoch);
      expect(status.recovery.state).toBe('done');
      expect((await agentsOf(master))[0]?.status).toBe('admitted');
    });

    it('holds marking when too many agents are missing after a failover, until an operator releases it', async () => {
      const env = await scenarioEnv(store);
      const dir = await stateDir();
      let master = track(await startMaster({ ...env, REGISTRAR_REREGISTER_TIMEOUT: '1s' }));
      const agents = ['h1', 'h2', 'h3'].map((h) => track(startAgent(master.url, h, join(dir, `${h}.json`))));
      await eventually('three agents registered', () => agentsOf(master), (agents) => agents.length === 3, WITHIN);
      await master.stop();
      const stoppedAt = Date.now();
      await Promise.all(agents.map((a) => a.stop('SIGKILL')));
      await lapse(stoppedAt, env);
      master = track(await startMaster({ ...env, REGISTRAR_REREGISTER_TIMEOUT: '1s' }));
      const health = await eventually(
        'marking held',
        async () => (await (await fetch(`${master.url}/health`)).json()) as { held: boolean; warnings: string[] },
        (h) => h.held,
        WITHIN,
      );
      expect(health.warnings.join()).toMatch(/marking is held/);
      expect((await agentsOf(master)).every((a) => a.status === 'admitted')).toBe(true);
      const release = await master.operator('POST', '/master/recovery/release', { reason: 'rack lost for good' });
      expect(release.status).toBe(200);
      expect(release.body.wouldMark).toHaveLength(3);
      await eventually('all three marked unreachable', () => agentsOf(master), (agents) => agents.every((a) => a.status === 'unreachable'), WITHIN);
    });

    it('answers a gone agent 410 and its client exits', async () => {
      const env = await scenarioEnv(store);
      const dir = await stateDir();
      const master = track(await startMaster(env));
      const agent = track(startAgent(master.url, 'retired', join(dir, 'retired.json')));
      const [record] = await eventually('the agent registered', () => agentsOf(master), (agents) => agents.length === 1, WITHIN);
      expect((await master.operator('POST', `/agents/${record!.id}/gone`, { reason: 'decommissioned' })).status).toBe(200);
      expect(await agent.exited).toBe(0);
      expect(agent.lines.join('\n')).toMatch(/marked this agent gone/);
    });
  });
}
