// The servers' logs: pino JSON lines at LOG_LEVEL, each with its request's id, and never a secret,
// a token or a secret's hash, whatever the master is asked to do.
import { describe, expect, it } from 'vitest';
import { JOIN, OPERATOR } from '../test/support/master.ts';
import { registerAgent, servingMaster } from '../test/support/master-http.ts';
import { pinoLog } from './logs.ts';

function captured(level?: string) {
  const lines: string[] = [];
  const log = pinoLog({ ...(level ? { level } : {}), destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('pinoLog', () => {
  it('writes JSON lines with a time, a level and the message, keeping the fields', () => {
    const { log, parsed } = captured();
    log('sweep', { trigger: 'interval', marked: 2 });
    const [line] = parsed();
    expect(line).toMatchObject({ level: 'info', message: 'sweep', trigger: 'interval', marked: 2 });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
  });

  it('logs at the level asked: lines with an error are warnings', () => {
    const { log, parsed } = captured('warn');
    log('sweep', { trigger: 'interval' });
    log('sweep failed', { error: 'the store is down' });
    expect(parsed().map((l) => [l.level, l.message])).toEqual([['warn', 'sweep failed']]);
  });

  it('says so and logs at info when LOG_LEVEL is not a level', () => {
    const { log, parsed } = captured('loud');
    log('master listening');
    expect(parsed().map((l) => l.level)).toEqual(['warn', 'info']);
  });

  it('redacts credentials by field name', () => {
    const { log, lines } = captured();
    log('request', { authorization: 'Bearer tok-1', headers: { authorization: 'Bearer tok-2' }, secret: 'sec-3', token: 'tok-4', agent: { secretHash: 'sha256:abc' } });
    const text = lines.join('');
    for (const s of ['tok-1', 'tok-2', 'sec-3', 'tok-4', 'sha256:abc']) expect(text).not.toContain(s);
    expect(text).toContain('[redacted]');
  });

  it('never logs a secret, a token or a hash while agents register and heartbeat and operators act', async () => {
    const { log, lines, parsed } = captured('trace');
    const m = await servingMaster({ log });
    const agents = [await registerAgent(m), await registerAgent(m, { hostname: 'a2' }), await registerAgent(m, { hostname: 'a3' })];
    for (const a of agents) await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch });
    await m.api.heartbeat(agents[0]!.id, 'wrong-secret-0123456789-0123456789-0123456789', { epoch: 1 });
    await m.api.operator('POST', `/agents/${agents[0]!.id}/drain`, { reason: 'maintenance' });
    await m.api.operator('POST', `/agents/${agents[1]!.id}/deactivate`, {});
    const gone = await m.app.request(`/api/v1/agents/${agents[2]!.id}/gone`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'x-request-id': 'op-4711' } });
    expect(gone.status).toBe(200);
    await m.api.operator('GET', '/agents');
    await m.api.operator('GET', '/registry');
    await m.call('GET', '/metrics', { token: OPERATOR });
    await m.call('GET', '/api/v1/agents', { token: JOIN });
    await m.api.reregister(agents[1]!.id, agents[1]!.secret);

    expect(lines.length).toBeGreaterThan(3);
    const text = lines.join('');
    for (const a of agents) expect(text).not.toContain(a.secret);
    for (const t of [JOIN, OPERATOR, 'sha256:', 'secretHash']) expect(text).not.toContain(t);
    // The registrar's lines carry the id of the request that wrote them.
    expect(parsed().find((l) => l.message === 'agent gone')).toMatchObject({ agentId: agents[2]!.id, requestId: 'op-4711' });
  });
});
