// The seed scenario on real processes: a master, real agent clients, a failover during which one
// agent dies for good; the next master notices it through the registry.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config.ts';
import { eventually, startAgent, startMaster, type Proc } from '../support/processes.ts';
import { e2eStores, scenarioEnv } from './stores.ts';

const running: Proc[] = [];
/** Waits until a master stopped now has certainly lost its lease. */
const lapse = (env: Record<string, string>) =>
  new Promise((r) => setTimeout(r, parseDuration('lease', env.REGISTRAR_MASTER_LEASE!) + parseDuration('skew', env.REGISTRAR_MAX_CLOCK_SKEW!) + 200));
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
      await eventually(async () => ((await agentsOf(master)).length === 2 ? true : undefined), 30_000, 'two agents');
      const firstEpoch = (await master.operator('GET', '/master')).body.epoch;

      await master.stop();
      await doomed.stop('SIGKILL'); // dies for good while no master runs
      await lapse(env); // no master runs until the lease has lapsed
      master = track(await startMaster(env));

      const status = (await master.operator('GET', '/master')).body;
      expect(status.epoch).toBeGreaterThan(firstEpoch);
      expect(status.recovery.state).toBe('recovering');
      await eventually(async () => (byHost(await agentsOf(master), 'live')?.epoch === status.epoch ? true : undefined), 30_000, 'live agent re-registered');
      const after = await eventually(async () => {
        const agents = await agentsOf(master);
        return byHost(agents, 'doomed')?.status === 'unreachable' ? agents : undefined;
      }, 30_000, 'the dead agent marked unreachable');
      expect(byHost(after, 'live')?.status).toBe('admitted');
      expect(live.child.exitCode).toBeNull(); // the live agent kept running through the failover
      expect((await master.operator('GET', '/master')).body.recovery.state).toBe('done');
    });

    it('keeps the epoch and marks nobody when a master restarts within its lease', async () => {
      const env = { ...(await scenarioEnv(store)), REGISTRAR_MASTER_LEASE: '8s', REGISTRAR_AGENT_TIMEOUT: '10s' };
      const dir = await stateDir();
      let master = track(await startMaster(env));
      track(startAgent(master.url, 'a', join(dir, 'a.json')));
      await eventually(async () => ((await agentsOf(master)).length === 1 ? true : undefined), 30_000, 'agent registered');
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
      await eventually(async () => ((await agentsOf(master)).length === 3 ? true : undefined), 30_000, 'three agents');
      await master.stop();
      await Promise.all(agents.map((a) => a.stop('SIGKILL')));
      await lapse(env);
      master = track(await startMaster({ ...env, REGISTRAR_REREGISTER_TIMEOUT: '1s' }));
      const health = await eventually(async () => {
        const h = (await (await fetch(`${master.url}/health`)).json()) as { held: boolean; warnings: string[] };
        return h.held ? h : undefined;
      }, 30_000, 'the hold');
      expect(health.warnings.join()).toMatch(/marking is held/);
      expect((await agentsOf(master)).every((a) => a.status === 'admitted')).toBe(true);
      const release = await master.operator('POST', '/master/recovery/release', { reason: 'rack lost for good' });
      expect(release.status).toBe(200);
      expect(release.body.wouldMark).toHaveLength(3);
      await eventually(async () => ((await agentsOf(master)).every((a) => a.status === 'unreachable') ? true : undefined), 30_000, 'all marked');
    });

    it('answers a gone agent 410 and its client exits', async () => {
      const env = await scenarioEnv(store);
      const dir = await stateDir();
      const master = track(await startMaster(env));
      const agent = track(startAgent(master.url, 'retired', join(dir, 'retired.json')));
      const [record] = await eventually(async () => {
        const agents = await agentsOf(master);
        return agents.length === 1 ? agents : undefined;
      }, 30_000, 'agent registered');
      expect((await master.operator('POST', `/agents/${record!.id}/gone`, { reason: 'decommissioned' })).status).toBe(200);
      expect(await agent.exited).toBe(0);
      expect(agent.lines.join('\n')).toMatch(/marked this agent gone/);
    });
  });
}
