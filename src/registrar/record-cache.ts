// The agent records this instance last read or wrote on the heartbeat path, so that a heartbeat
// whose lastSeenAt write falls due can write without reading first (DESIGN.md, rule 13): it expects
// the version its ticket vouches for, and any change since (an operator's, a sweep's, another
// instance's write) makes that write conflict and the record be read. Kept as JSON text, a few
// hundred bytes an agent, bounded by a count: the least recently written entry goes first.
import type { AgentRecord } from '../registry/index.ts';
import type { Item, Version } from '../store.ts';
import { agentKey } from './core.ts';

export interface RecordCache {
  /** The record at this version, if this instance holds exactly that version. */
  get(id: string, version: Version): Item<AgentRecord> | undefined;
  set(id: string, item: Item<AgentRecord>): void;
  delete(id: string): void;
  readonly size: number;
}

/**
 * A record as compact JSON: the fields every record has by position (their names cost a hundred
 * bytes an entry), any other field by name. The id is the map's key, and the request id is replaced
 * by every write, so neither is kept.
 */
type Packed = [AgentRecord['info'], AgentRecord['status'], number, number, number, boolean, string, AgentRecord['events'], Partial<AgentRecord>];

function pack(record: AgentRecord): string {
  const { id: _id, lastRequestId: _request, info, status, epoch, registeredAt, lastSeenAt, deactivated, secretHash, events, ...rest } = record;
  return JSON.stringify([info, status, epoch, registeredAt, lastSeenAt, deactivated, secretHash, events, rest] satisfies Packed);
}

function unpack(id: string, json: string): AgentRecord {
  const [info, status, epoch, registeredAt, lastSeenAt, deactivated, secretHash, events, rest] = JSON.parse(json) as Packed;
  return { id, info, status, epoch, registeredAt, lastSeenAt, deactivated, secretHash, events, ...rest, lastRequestId: '' };
}

export function createRecordCache(maxEntries: number): RecordCache {
  // One string an entry, "<version>\n<packed record>", with no object around it.
  const entries = new Map<string, string>();
  return {
    get(id, version) {
      const e = entries.get(id);
      if (e === undefined || e[version.length] !== '\n' || !e.startsWith(version)) return undefined;
      return { key: agentKey(id), version, value: unpack(id, e.slice(version.length + 1)) };
    },
    set(id, item) {
      if (maxEntries <= 0 || item.version.includes('\n')) return;
      entries.delete(id); // re-inserted as the newest
      entries.set(id, `${item.version}\n${pack(item.value)}`);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    delete: (id) => void entries.delete(id),
    get size() {
      return entries.size;
    },
  };
}
