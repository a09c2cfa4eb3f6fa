// GET /api/v1/events: Server-Sent Events read from the event log, with app.request() and the stream's
// body read as it arrives. The clock is fake; each poll's sleep moves it and yields to the test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLevelDbStore } from '../../adapters/leveldb/index.ts';
import { createMemoryStore } from '../../adapters/memory/index.ts';
import { FakeClock } from '../clock.ts';
import { EVENT_RETENTION, positionId } from '../registrar/events.ts';
import type { Store } from '../store.ts';
import { JOIN, OPERATOR } from '../../test/support/master.ts';
import { faultyStore, registerAgent, servingMaster, type Agent, type TestMaster } from '../../test/support/master-http.ts';

/** Sleeping moves the fake time and lets the test run meanwhile, as a real poll would. */
class TickingClock extends FakeClock {
  override async sleep(ms: number): Promise<void> {
    this.advance(ms);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

interface Block {
  id?: string;
  event?: string;
  data?: any;
  comments: string[];
  retry?: number;
}

/** Opens the stream and reads it a block at a time. */
async function open(m: TestMaster, o: { lastEventId?: string; query?: string; token?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${o.token ?? OPERATOR}` };
  if (o.lastEventId) headers['last-event-id'] = o.lastEventId;
  const res = await m.app.request(`/api/v1/events${o.query ?? ''}`, { headers });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const next = async (): Promise<Block | undefined> => {
    while (!buffer.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      buffer += decoder.decode(value, { stream: true });
    }
    const at = buffer.indexOf('\n\n');
    const text = buffer.slice(0, at);
    buffer = buffer.slice(at + 2);
    const block: Block = { comments: [] };
    for (const line of text.split('\n')) {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === '') block.comments.push(value);
      else if (field === 'data') block.data = JSON.parse(value);
      else if (field === 'id') block.id = value;
      else if (field === 'event') block.event = value;
      else if (field === 'retry') block.retry = Number(value);
    }
    return block;
  };
  /** Blocks until one matches (returned with those before it), or the stream ends. */
  const until = async (match: (b: Block) => boolean) => {
    const seen: Block[] = [];
    for (let b = await next(); b; b = await next()) {
      seen.push(b);
      if (match(b)) return seen;
    }
    return seen;
  };
  const rest = () => until(() => false);
  return { res, next, until, rest, close: () => reader.cancel() };
}

const events = (blocks: Block[]) => blocks.filter((b) => b.data && !b.event);
const typesOf = (blocks: Block[]) => events(blocks).map((b) => `${b.data.type}${b.data.agentId ? ` ${b.data.agentId}` : ''}`);

const ticking = (store?: Store) => servingMaster({ clock: new TickingClock(), ...(store ? { store } : {}) });

describe('GET /api/v1/events', () => {
  it('needs an operator token', async () => {
    const m = await ticking();
    expect((await m.call('GET', '/api/v1/events')).status).toBe(401);
    expect((await m.call('GET', '/api/v1/events', { token: JOIN })).status).toBe(403);
  });

  it('refuses a malformed Last-Event-ID or since', async () => {
    const m = await ticking();
    expect((await m.app.request('/api/v1/events', { headers: { authorization: `Bearer ${OPERATOR}`, 'last-event-id': 'nope' } })).status).toBe(400);
    expect((await m.call('GET', '/api/v1/events?since=yesterday', { token: OPERATOR })).status).toBe(400);
  });

  it('sends the backlog since a time, then the events as they happen, in order', async () => {
    const m = await ticking();
    const start = m.clock.now();
    const a = await registerAgent(m, { hostname: 'a' });
    const s = await open(m, { query: `?since=${start}` });
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const first = await s.until((b) => b.data?.type === 'AGENT_ADDED');
    expect(first[0]!.retry).toBe(1000);
    expect(typesOf(first)).toEqual([`AGENT_ADDED ${a.id}`]);
    expect(events(first)[0]).toMatchObject({ data: { type: 'AGENT_ADDED', agentId: a.id, epoch: a.epoch, by: 'join' } });
    // Events written while the stream is open arrive too.
    const b = await registerAgent(m, { hostname: 'b' });
    m.clock.advance(1); // within one millisecond, two agents' events have no order
    await m.api.operator('POST', `/agents/${a.id}/gone`, { reason: 'decommissioned' });
    const more = await s.until((x) => x.data?.type === 'AGENT_GONE');
    expect(typesOf(more)).toEqual([`AGENT_ADDED ${b.id}`, `AGENT_GONE ${a.id}`]);
    expect(events(more)[1]!.data).toMatchObject({ by: 'alice', reason: 'decommissioned' });
    const ids = [...events(first), ...events(more)].map((x) => x.id!);
    expect([...ids].sort()).toEqual(ids);
    await s.close();
  });

  it('resumes after Last-Event-ID with nothing repeated and nothing missed', async () => {
    const m = await ticking();
    const start = m.clock.now();
    const agents: Agent[] = [];
    for (let i = 0; i < 4; i++) {
      agents.push(await registerAgent(m, { hostname: `h${i}` }));
      m.clock.advance(10);
    }
    const s = await open(m, { query: `?since=${start}` });
    const firstTwo = await s.until((b) => events([b]).length > 0 && b.data.agentId === agents[1]!.id);
    await s.close();
    const resumed = await open(m, { lastEventId: events(firstTwo).at(-1)!.id! });
    const rest = await resumed.until((b) => b.data?.agentId === agents[3]!.id);
    expect(typesOf(rest)).toEqual(agents.slice(2).map((a) => `AGENT_ADDED ${a.id}`));
    await resumed.close();
  });

  it('sends keepalives whose position id resumes without a gap, and ends after its time', async () => {
    const m = await ticking();
    const s = await open(m, { query: '?timeoutSeconds=40' });
    const blocks = await s.rest();
    const keepalives = blocks.filter((b) => b.comments.includes('keepalive'));
    expect(keepalives.length).toBeGreaterThanOrEqual(2);
    expect(keepalives.every((b) => b.id !== undefined && b.data === undefined)).toBe(true);
    const end = blocks.at(-1)!;
    expect(end.comments[0]).toMatch(/^end/);
    // An agent registered after the stream ended is found from the last position it sent.
    const last = [...blocks].reverse().find((b) => b.id)!.id!;
    const a = await registerAgent(m);
    const resumed = await open(m, { lastEventId: last });
    expect(typesOf(await resumed.until((b) => b.data?.agentId === a.id))).toEqual([`AGENT_ADDED ${a.id}`]);
    await resumed.close();
  });

  it('sends nothing more for a gone agent, however it keeps heartbeating', async () => {
    const m = await ticking();
    const start = m.clock.now();
    const a = await registerAgent(m);
    await m.api.operator('POST', `/agents/${a.id}/gone`);
    for (let i = 0; i < 5; i++) {
      expect((await m.api.heartbeat(a.id, a.secret, { epoch: a.epoch })).status).toBe(410);
      m.clock.advance(m.policy.heartbeatInterval);
    }
    const s = await open(m, { query: `?since=${start}&timeoutSeconds=30` });
    expect(typesOf(await s.rest())).toEqual([`AGENT_ADDED ${a.id}`, `AGENT_GONE ${a.id}`]);
  });

  it('says when Last-Event-ID is older than the retention window', async () => {
    const m = await ticking();
    const s = await open(m, { lastEventId: positionId(m.clock.now() - EVENT_RETENTION - 60_000), query: '?timeoutSeconds=1' });
    const blocks = await s.rest();
    expect(blocks.find((b) => b.event === 'lost')?.data.message).toMatch(/may be lost/);
  });

  it('answers 503 when the store fails at once, and ends with an error event when it fails later', async () => {
    const store = faultyStore(createMemoryStore());
    const m = await ticking(store);
    const start = m.clock.now();
    const a = await registerAgent(m);
    store.failure = 'unavailable';
    expect((await m.call('GET', `/api/v1/events?since=${start - 60_000}`, { token: OPERATOR })).status).toBe(503);
    store.failure = 'none';
    const s = await open(m, { query: `?since=${start}` });
    await s.until((b) => b.data?.agentId === a.id);
    store.failure = 'unavailable';
    const blocks = await s.rest();
    expect(blocks.at(-1)).toMatchObject({ event: 'error', data: { error: 'unavailable' } });
    expect(events(blocks)).toEqual([]);
  });

  it('works the same on LevelDB', async () => {
    const location = await mkdtemp(join(tmpdir(), 'registrar-events-'));
    const store = await createLevelDbStore({ location });
    try {
      const m = await ticking(store);
      const start = m.clock.now();
      const a = await registerAgent(m);
      m.clock.advance(1);
      await m.api.operator('POST', `/agents/${a.id}/drain`, {});
      m.clock.advance(1);
      await m.api.operator('POST', `/agents/${a.id}/gone`);
      const s = await open(m, { query: `?since=${start}` });
      const blocks = await s.until((b) => b.data?.type === 'AGENT_GONE');
      await s.close();
      expect(typesOf(blocks)).toEqual([`AGENT_ADDED ${a.id}`, `AGENT_DRAINING ${a.id}`, `AGENT_GONE ${a.id}`]);
      const resumed = await open(m, { lastEventId: events(blocks)[0]!.id!, query: '?timeoutSeconds=10' });
      expect(typesOf(await resumed.rest())).toEqual([`AGENT_DRAINING ${a.id}`, `AGENT_GONE ${a.id}`]);
    } finally {
      await store.close();
      await rm(location, { recursive: true, force: true });
    }
  });
});
