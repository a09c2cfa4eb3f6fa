// The mapping of our records onto Mesos' shapes, without HTTP.
import { describe, expect, it } from 'vitest';
import type { AgentRecord, MasterRecord } from '../registry/index.ts';
import { drainInfo, getMaster, listingOf, mesosValue } from './mesos-shapes.ts';

const record = (over: Partial<AgentRecord> = {}): AgentRecord => ({
  id: '3f1c2a4e-8b7d-4c1a-9e2f-5a6b7c8d9e0f',
  info: { hostname: 'a1', port: 5051, resources: {}, attributes: {}, version: '' },
  status: 'admitted', epoch: 1, registeredAt: 1_000, lastSeenAt: 1_000, deactivated: false,
  secretHash: 'x', lastRequestId: 'r', events: [], ...over,
});

describe('mesosValue', () => {
  it('types numbers as scalars and Mesos text forms as ranges and sets', () => {
    expect(mesosValue(0)).toEqual({ type: 'SCALAR', scalar: { value: 0 } });
    expect(mesosValue(' [1-2,5 - 9] ')).toEqual({ type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }, { begin: 5, end: 9 }] } });
    expect(mesosValue('{}')).toEqual({ type: 'SET', set: { item: [] } });
    expect(mesosValue('{ a, b }')).toEqual({ type: 'SET', set: { item: ['a', 'b'] } });
  });

  it('has no Mesos resource type for other text', () => {
    for (const text of ['a100', '[1-2', '[a-b]', '[]', '', '12']) expect(mesosValue(text), text).toBeUndefined();
  });
});

describe('listingOf', () => {
  it('lists admitted agents only: pending ones as recovered', () => {
    expect(listingOf(record(), false)).toBe('agents');
    expect(listingOf(record(), true)).toBe('recovered_agents');
    expect(listingOf(record({ status: 'unreachable' }), false)).toBeUndefined();
    expect(listingOf(record({ status: 'gone' }), true)).toBeUndefined();
  });
});

describe('drainInfo', () => {
  it('gives the grace period back from the deadline and the last drain request', () => {
    const events = [{ at: 100, type: 'drain', by: 'alice' }, { at: 400, type: 'drain', by: 'alice' }];
    expect(drainInfo(record({ drain: { state: 'draining', deadline: 1_400 }, events }))).toEqual({
      state: 'DRAINING', config: { max_grace_period: { nanoseconds: 1_000_000_000 }, mark_gone: false },
    });
    expect(drainInfo(record({ drain: { state: 'draining', deadline: 1_400 } }))).toEqual({ state: 'DRAINING', config: { mark_gone: false } });
    expect(drainInfo(record())).toBeUndefined();
  });
});

describe('getMaster', () => {
  it('takes the port the request reached, or the scheme’s', () => {
    const master = { epoch: 7, startedAt: 1_500 } as MasterRecord;
    expect(getMaster(master, new URL('https://registrar.example.com/api/v1')).master_info).toMatchObject({ id: 'epoch-7', hostname: 'registrar.example.com', port: 443 });
    expect(getMaster(master, new URL('http://10.0.0.1:5050/api/v1'))).toMatchObject({ master_info: { port: 5050 }, start_time: 1.5, elected_time: 1.5 });
  });
});
