// A store that counts what passes through it, by phase (heartbeat, sweep, master status…): calls,
// items read and written, and the units the platforms bill them in. The bench sets `phase` before
// each step of a sequential simulation, so every operation is charged to the step that caused it.
import { attr, itemBytes, toItem } from '../adapters/dynamodb/schema.ts';
import { byteLength, isCheck, isDelete, isPatch, isPut, type Store, type Write } from '../src/store.ts';

export interface Tally {
  /** Store calls. */
  gets: number;
  /** Of the gets, those of agent records (`agents/…`): the rest read `master`, the ticket keys, indexes. */
  agentGets: number;
  lists: number;
  commits: number;
  /** Records read: one a get, one each listed item. */
  getItems: number;
  listItems: number;
  /** Operations inside commits. */
  puts: number;
  deletes: number;
  checks: number;
  /** Fields set in place (a due lastSeenAt without the record at hand): an UpdateItem on DynamoDB, a read and a put elsewhere. */
  patches: number;
  /** DynamoDB's units: strongly consistent reads of 4 KB (a get each item, a Query its page's total), writes of 1 KB, doubled in a transaction. */
  dynamoGetUnits: number;
  dynamoQueryUnits: number;
  dynamoWriteUnits: number;
}

export const emptyTally = (): Tally => ({ gets: 0, agentGets: 0, lists: 0, commits: 0, getItems: 0, listItems: 0, puts: 0, deletes: 0, checks: 0, patches: 0, dynamoGetUnits: 0, dynamoQueryUnits: 0, dynamoWriteUnits: 0 });

/** Store reads as the goals count them: every get, every listed item (an empty page still costs a call). */
export const reads = (t: Tally): number => t.gets + Math.max(t.listItems, t.lists);
/** Store writes as the goals count them: every put, patch and delete (a check writes nothing). */
export const writes = (t: Tally): number => t.puts + t.patches + t.deletes;

/** `t` divided by `n`, field by field: an average per heartbeat, per sweep. */
export function perUnit(t: Tally, n: number): Tally {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, n === 0 ? 0 : v / n])) as unknown as Tally;
}

/** The fields that grow with the registry's size: what a scan reads. */
export const SCAN_FIELDS = ['lists', 'listItems', 'dynamoQueryUnits'] as const;

/** A scan's tally measured over `measured` agents, as it would be over `agents`: its scan part scaled, the rest as it was. */
export function scaleScan(t: Tally, measured: number, agents: number): Tally {
  const scaled = { ...t };
  for (const f of SCAN_FIELDS) scaled[f] = f === 'lists' ? Math.max(1, Math.ceil((t[f] * agents) / measured)) : (t[f] * agents) / measured;
  return scaled;
}

const SAMPLE_VERSION = '00000000-0000-4000-8000-000000000000';
/** A DynamoDB item's size as the adapter writes it (adapters/dynamodb/schema.ts): key attributes, version, value (deflated when that is smaller). */
const dynamoBytes = (key: string, value: unknown) => itemBytes(toItem(key, SAMPLE_VERSION, JSON.stringify(value) ?? 'null'));
const units = (bytes: number, unit: number) => Math.max(1, Math.ceil(bytes / unit));

/** The heartbeat path's commit: one put or patch on an expected version is a plain PutItem or UpdateItem, not a transaction. */
const singlePut = (w: Write[]) => w.length === 1 && (isPut(w[0]!) || isPatch(w[0]!)) && w[0].expect !== 'any' && w[0].expect !== 'absent';

export interface CountingStore {
  store: Store;
  /** Where the operations from now on are charged. */
  phase: string;
  tallies: Map<string, Tally>;
  tally(phase: string): Tally;
  /** Time spent counting (sizing values), to subtract from timings taken through this store. */
  overheadMs: number;
  reset(): void;
}

export function countingStore(inner: Store): CountingStore {
  const tallies = new Map<string, Tally>();
  const tally = (phase: string) => {
    const t = tallies.get(phase) ?? emptyTally();
    tallies.set(phase, t);
    return t;
  };
  /** An UpdateItem bills the item as it is after it: the value, and the patched fields beside it as attributes of their own. */
  const patchedBytes = async (key: string, patch: Record<string, unknown>) => {
    const after = await inner.get(key);
    return dynamoBytes(key, after?.value) + Object.keys(patch).reduce((sum, f) => sum + byteLength(`${attr.field}${f}`), 0);
  };
  const counter: CountingStore = {
    phase: 'other',
    tallies,
    tally,
    overheadMs: 0,
    reset() {
      tallies.clear();
      counter.overheadMs = 0;
    },
    store: {
      async get(key) {
        const t = tally(counter.phase);
        const item = await inner.get(key);
        const started = performance.now();
        t.gets++;
        if (key.startsWith('agents/')) t.agentGets++;
        t.getItems += item ? 1 : 0;
        t.dynamoGetUnits += units(item ? dynamoBytes(key, item.value) : 0, 4096);
        counter.overheadMs += performance.now() - started;
        return item as never;
      },
      async list(prefix, opts) {
        const t = tally(counter.phase);
        const page = await inner.list(prefix, opts);
        const started = performance.now();
        t.lists++;
        t.listItems += page.items.length;
        t.dynamoQueryUnits += units(page.items.reduce((sum, i) => sum + dynamoBytes(i.key, i.value), 0), 4096);
        counter.overheadMs += performance.now() - started;
        return page as never;
      },
      async commit(ws) {
        const t = tally(counter.phase);
        const versions = await inner.commit(ws);
        const started = performance.now();
        t.commits++;
        const factor = singlePut(ws) ? 1 : 2;
        for (const w of ws) {
          if (isPut(w)) t.puts++;
          else if (isDelete(w)) t.deletes++;
          else if (isCheck(w)) t.checks++;
          else t.patches++;
          t.dynamoWriteUnits += factor * units(isPut(w) ? dynamoBytes(w.key, w.put) : isPatch(w) ? await patchedBytes(w.key, w.patch) : 0, 1024);
        }
        counter.overheadMs += performance.now() - started;
        return versions;
      },
      close: () => inner.close(),
      ...(inner.problem ? { problem: () => inner.problem!() } : {}),
    },
  };
  return counter;
}
