import { describe, expect, it } from 'vitest';
import type { AgentRecord } from '../registry/index.ts';
import { createRecordCache } from './record-cache.ts';

const record = (id: string, lastSeenAt = 1): AgentRecord => ({
  id, info: { hostname: 'h', port: 5051, resources: {}, attributes: {}, version: '' }, status: 'admitted', epoch: 1, registeredAt: 0, lastSeenAt,
  deactivated: false, secretHash: 'sha256:x', lastRequestId: 'r-1', events: [],
});
const item = (id: string, version: string, lastSeenAt = 1) => ({ key: `agents/${id}`, version, value: record(id, lastSeenAt) });

describe('the record cache', () => {
  it('answers only for the version it holds, with a copy of the record (its request id left out)', () => {
    const cache = createRecordCache(10);
    cache.set('a', item('a', 'v1'));
    expect(cache.get('a', 'v2')).toBeUndefined();
    expect(cache.get('a', 'v')).toBeUndefined(); // a version that begins another is not it
    const got = cache.get('a', 'v1')!;
    expect(got).toEqual({ ...item('a', 'v1'), value: { ...record('a'), lastRequestId: '' } });
    got.value.lastSeenAt = 2;
    expect(cache.get('a', 'v1')!.value.lastSeenAt).toBe(1);
    cache.delete('a');
    expect(cache.get('a', 'v1')).toBeUndefined();
  });

  it('keeps at most its bound, dropping the least recently written', () => {
    const cache = createRecordCache(2);
    cache.set('a', item('a', '1'));
    cache.set('b', item('b', '1'));
    cache.set('a', item('a', '2', 3)); // a is now the newest
    cache.set('c', item('c', '1', 4));
    expect(cache.size).toBe(2);
    expect(cache.get('b', '1')).toBeUndefined();
    expect(cache.get('a', '2')?.value.lastSeenAt).toBe(3);
    expect(cache.get('c', '1')?.value.lastSeenAt).toBe(4);
  });

  it('keeps every field, the optional ones too', () => {
    const cache = createRecordCache(10);
    const full: AgentRecord = {
      ...record('a'), status: 'unreachable', unreachableAt: 5, goneAt: 6, drain: { state: 'draining', deadline: 9, markGone: true }, deactivated: true,
      info: { hostname: 'h', port: 1, resources: { cpus: 2 }, attributes: { rack: 'r' }, version: '1', machineId: 'm' }, events: [{ at: 1, type: 'admitted', by: 'join', reason: 'x' }],
    };
    cache.set('a', { key: 'agents/a', version: 'v', value: full });
    expect(cache.get('a', 'v')!.value).toEqual({ ...full, lastRequestId: '' });
  });

  it('holds nothing with a bound of zero', () => {
    const cache = createRecordCache(0);
    cache.set('a', item('a', '1'));
    expect(cache.size).toBe(0);
  });
});
