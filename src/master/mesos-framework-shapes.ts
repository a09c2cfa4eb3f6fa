// Framework records in the JSON shape of Mesos' v1 operator API (master.proto's
// Response.GetFrameworks), for tooling written against Mesos. Pure: no I/O, no clock.
import type { FrameworkRecord, MasterRecord } from '../registry/index.ts';

const timeInfo = (ms: number) => ({ nanoseconds: ms * 1_000_000 });

/** Mesos' FrameworkInfo: `user` is required there (empty when the framework gave none); capabilities as `{ type }`. */
export function mesosFrameworkInfo(record: FrameworkRecord) {
  const { name, user, roles, principal, hostname, webuiUrl, capabilities } = record.info;
  return {
    id: { value: record.id },
    name,
    user: user ?? '',
    ...(roles ? { roles } : {}),
    ...(principal !== undefined ? { principal } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(webuiUrl !== undefined ? { webui_url: webuiUrl } : {}),
    ...(capabilities ? { capabilities: capabilities.map((type) => ({ type })) } : {}),
    failover_timeout: record.failoverTimeoutSeconds,
  };
}

/**
 * Which list of GET_FRAMEWORKS a framework belongs in: completed ones in `completed_frameworks`,
 * the rest in `frameworks`.
 */
export const frameworkListingOf = (record: FrameworkRecord): 'frameworks' | 'completed_frameworks' =>
  record.status === 'completed' ? 'completed_frameworks' : 'frameworks';

/**
 * One framework of GET_FRAMEWORKS. Connected and active: active in this epoch. Recovered: active in an
 * older epoch, not re-registered since the failover (as a Mesos master knows a framework it has not
 * heard from yet). Disconnected and completed frameworks are neither.
 */
export function getFrameworksFramework(record: FrameworkRecord, master: Pick<MasterRecord, 'epoch'>) {
  const current = record.status === 'active' && record.epoch === master.epoch;
  const reregistered = record.events.findLast((e) => e.type === 'reregistered' || e.type === 'reconnected');
  return {
    framework_info: mesosFrameworkInfo(record),
    active: current,
    connected: current,
    recovered: record.status === 'active' && record.epoch !== master.epoch,
    registered_time: timeInfo(record.registeredAt),
    ...(reregistered ? { reregistered_time: timeInfo(reregistered.at) } : {}),
    ...(record.completedAt !== undefined ? { unregistered_time: timeInfo(record.completedAt) } : {}),
  };
}
