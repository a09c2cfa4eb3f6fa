// GET_FRAMEWORKS on `POST /api/v1`, as Mesos tooling calls it: frameworks in the v1 operator API's
// shape (master.proto's Response.GetFrameworks), completed ones apart, recovered ones flagged.
import { describe, expect, it } from 'vitest';
import { FRAMEWORK, OPERATOR, testMaster } from '../../test/support/master.ts';

async function started() {
  const m = testMaster();
  await m.sweep();
  const register = async (body: Record<string, unknown>) => (await m.call('POST', '/api/v1/frameworks', { token: FRAMEWORK, body })).body;
  const getFrameworks = async () => {
    const res = await m.call('POST', '/api/v1', { token: OPERATOR, body: { type: 'GET_FRAMEWORKS' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.type).toBe('GET_FRAMEWORKS');
    return res.body.get_frameworks as { frameworks: any[]; completed_frameworks: any[] };
  };
  return { m, register, getFrameworks };
}

describe('POST /api/v1 GET_FRAMEWORKS', () => {
  it('gives active frameworks with their FrameworkInfo, times in nanoseconds', async () => {
    const { m, register, getFrameworks } = await started();
    const at = m.clock.now();
    const fw = await register({ name: 'marathon', user: 'root', roles: ['web'], principal: 'mp', hostname: 'm1', webuiUrl: 'http://m1:8080', capabilities: ['MULTI_ROLE'], failoverTimeoutSeconds: 604800 });
    const { frameworks, completed_frameworks } = await getFrameworks();
    expect(completed_frameworks).toEqual([]);
    expect(frameworks).toEqual([{
      framework_info: {
        id: { value: fw.frameworkId }, name: 'marathon', user: 'root', roles: ['web'], principal: 'mp', hostname: 'm1',
        webui_url: 'http://m1:8080', capabilities: [{ type: 'MULTI_ROLE' }], failover_timeout: 604800,
      },
      active: true,
      connected: true,
      recovered: false,
      registered_time: { nanoseconds: at * 1_000_000 },
    }]);
  });

  it('flags frameworks not re-registered since a failover as recovered, and lists completed ones apart', async () => {
    const { m, register, getFrameworks } = await started();
    const live = await register({ name: 'live' });
    const torn = await register({ name: 'torn' });
    await m.api.operator('POST', `/frameworks/${torn.frameworkId}/teardown`, { reason: 'retired' });
    m.clock.advance(5 * 60_000); // no master ran
    await m.sweep();
    let { frameworks, completed_frameworks } = await getFrameworks();
    expect(frameworks).toHaveLength(1);
    expect(frameworks[0]).toMatchObject({ framework_info: { id: { value: live.frameworkId }, user: '' }, active: false, connected: false, recovered: true });
    expect(completed_frameworks).toHaveLength(1);
    expect(completed_frameworks[0]).toMatchObject({ framework_info: { id: { value: torn.frameworkId } }, active: false, unregistered_time: { nanoseconds: expect.any(Number) } });
    const again = await m.call('POST', `/api/v1/frameworks/${live.frameworkId}/reregister`, { token: live.secret, body: {} });
    expect(again.status).toBe(200);
    ({ frameworks, completed_frameworks } = await getFrameworks());
    expect(frameworks[0]).toMatchObject({ active: true, connected: true, recovered: false, reregistered_time: { nanoseconds: m.clock.now() * 1_000_000 } });
  });

  it('takes the operator token only', async () => {
    const { m } = await started();
    expect((await m.call('POST', '/api/v1', { token: FRAMEWORK, body: { type: 'GET_FRAMEWORKS' } })).status).toBe(403);
  });
});
