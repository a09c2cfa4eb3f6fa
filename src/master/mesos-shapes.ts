// Our records in the JSON shapes of Mesos' operator API, for tooling written against Mesos: the v1
// operator API (`POST /api/v1`, master.proto's Response.GetAgents) and the legacy `/master/slaves`.
// Pure: no I/O, no clock. The README's "Mesos-compatible endpoints" names each mapping choice.
import type { AgentRecord, Drain, MasterRecord } from '../registry/index.ts';

const NANOS_PER_MS = 1_000_000;

/** Mesos' TimeInfo. Nanoseconds as a JSON number, as Mesos writes int64s; whole milliseconds stay exact. */
const timeInfo = (ms: number) => ({ nanoseconds: ms * NANOS_PER_MS });
/** Seconds as a float, as Mesos' legacy endpoints and GetMaster write times. */
const seconds = (ms: number) => ms / 1000;

type MesosValue =
  | { type: 'SCALAR'; scalar: { value: number } }
  | { type: 'RANGES'; ranges: { range: { begin: number; end: number }[] } }
  | { type: 'SET'; set: { item: string[] } };

const RANGES_TEXT = /^\[\s*\d+\s*-\s*\d+\s*(,\s*\d+\s*-\s*\d+\s*)*\]$/;
const SET_TEXT = /^\{([^{}]*)\}$/;

/**
 * A resource value as Mesos types it. Mesos resources are SCALAR, RANGES or SET (TEXT is for
 * attributes only): numbers are scalars, strings in Mesos' own text forms (`[31000-32000]`,
 * `{a,b}`) are ranges and sets, and any other string has no Mesos form.
 */
export function mesosValue(value: number | string): MesosValue | undefined {
  if (typeof value === 'number') return { type: 'SCALAR', scalar: { value } };
  const text = value.trim();
  if (RANGES_TEXT.test(text)) {
    const range = text.slice(1, -1).split(',').map((r) => {
      const [begin, end] = r.split('-').map((n) => Number(n.trim()));
      return { begin: begin!, end: end! };
    });
    return { type: 'RANGES', ranges: { range } };
  }
  const set = SET_TEXT.exec(text);
  if (set) return { type: 'SET', set: { item: set[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '') } };
  return undefined;
}

/** Resources as v1 Resource messages, unreserved (role "*"); a string with no Mesos form is left out. */
export function mesosResources(resources: Record<string, number | string>) {
  return Object.entries(resources).flatMap(([name, v]) => {
    const value = mesosValue(v);
    return value ? [{ name, ...value, role: '*' }] : [];
  });
}

/** Attributes are text to us, so TEXT to Mesos: "01" stays "01" rather than becoming the scalar 1. */
export const mesosAttributes = (attributes: Record<string, string>) =>
  Object.entries(attributes).map(([name, value]) => ({ name, type: 'TEXT' as const, text: { value } }));

export function agentInfo(record: AgentRecord) {
  const { hostname, port, resources, attributes } = record.info;
  return { id: { value: record.id }, hostname, port, resources: mesosResources(resources), attributes: mesosAttributes(attributes) };
}

/**
 * Mesos' DrainInfo. The configured grace period is not kept, only its deadline: it is given back as
 * the deadline less the time of the drain request, while that event is still among the record's.
 */
export function drainInfo(record: AgentRecord) {
  const drain: Drain | undefined = record.drain;
  if (!drain) return undefined;
  const requested = record.events.findLast((e) => e.type === 'drain');
  const grace = drain.deadline !== undefined && requested ? { max_grace_period: { nanoseconds: (drain.deadline - requested.at) * NANOS_PER_MS } } : {};
  return { state: drain.state === 'draining' ? 'DRAINING' : 'DRAINED', config: { ...grace, mark_gone: drain.markGone === true } };
}

/** Which list of GET_AGENTS an agent belongs in, if any (the caller says whether it is pending). */
export type MesosListing = 'agents' | 'recovered_agents' | undefined;
export function listingOf(record: AgentRecord, pending: boolean): MesosListing {
  if (record.status !== 'admitted') return undefined; // unreachable and gone agents are not Mesos' registered agents
  return pending ? 'recovered_agents' : 'agents';
}

/** As in Mesos, draining deactivates: a draining or drained agent takes no new work either. */
const deactivated = (record: AgentRecord) => record.deactivated || record.drain !== undefined;

/** One of GET_AGENTS' `agents`: an admitted agent that registered or re-registered in this epoch. */
export function getAgentsAgent(record: AgentRecord) {
  const info = agentInfo(record);
  const drain = drainInfo(record);
  return {
    agent_info: info,
    active: !deactivated(record),
    deactivated: deactivated(record),
    version: record.info.version,
    registered_time: timeInfo(record.registeredAt),
    total_resources: info.resources,
    ...(drain ? { drain_info: drain } : {}),
  };
}

/** GET_MASTER's master_info. `id` is the epoch: like a Mesos master's id, it changes at every failover. */
export function getMaster(master: MasterRecord, reachedAt: URL) {
  const port = Number(reachedAt.port || (reachedAt.protocol === 'https:' ? 443 : 80));
  const hostname = reachedAt.hostname;
  return {
    master_info: { id: `epoch-${master.epoch}`, ip: 0, port, hostname, address: { hostname, port } },
    start_time: seconds(master.startedAt),
    elected_time: seconds(master.startedAt),
  };
}

/** The legacy `/master/slaves` model: resources as one object (scalars as numbers, the rest as text). */
export function legacySlave(record: AgentRecord) {
  const { hostname, port, resources, attributes, version } = record.info;
  const drain = drainInfo(record);
  return {
    id: record.id,
    hostname,
    port,
    resources,
    attributes,
    active: !deactivated(record),
    deactivated: deactivated(record),
    registered_time: seconds(record.registeredAt),
    version,
    ...(drain ? { drain_info: drain } : {}),
  };
}

/** A recovered slave, as Mesos lists it: its SlaveInfo only. */
export function legacyRecoveredSlave(record: AgentRecord) {
  const { hostname, port, resources, attributes } = record.info;
  return { id: record.id, hostname, port, resources, attributes };
}
