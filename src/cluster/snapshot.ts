/**
 * The whole cluster state as plain data, read in one go (the leader's input, and `host ls`),
 * and the rules that read it: which hosts exist and in what state.
 */
import { K, LEADER_KEY } from './keys.js';
import type { HostControl, HostInfo, HostLive, HostPlacements, ObservedReplica, ServiceRecord } from './model.js';
import type { Host, HostState } from './scheduler-types.js';
import type { Store } from './store.js';

export interface ClusterSnapshot {
  live: Map<string, HostLive>;
  info: Map<string, HostInfo>;
  ctl: Map<string, HostControl>;
  services: ServiceRecord[];
  placements: Map<string, HostPlacements>;
  observed: ObservedReplica[];
}

export async function readSnapshot(store: Store): Promise<ClusterSnapshot> {
  const [live, info, ctl, services, placements, observed] = await Promise.all([
    store.mapJson<HostLive>(K.hostsLive), store.mapJson<HostInfo>(K.hostsInfo), store.mapJson<HostControl>(K.hostsCtl),
    store.listJson<ServiceRecord>(K.services), store.mapJson<HostPlacements>(K.placements), store.listJson<ObservedReplica>(K.observedAll),
  ]);
  return { live, info, ctl, services: services.map((e) => e.value), placements, observed: observed.map((e) => e.value) };
}

/** The hosts' part of a snapshot (what `host ls` reads). */
export type HostsSnapshot = Pick<ClusterSnapshot, 'live' | 'info' | 'ctl' | 'placements'>;

export async function readHosts(store: Store): Promise<HostsSnapshot & { leader: string | null }> {
  const [live, info, ctl, placements, leader] = await Promise.all([
    store.mapJson<HostLive>(K.hostsLive), store.mapJson<HostInfo>(K.hostsInfo), store.mapJson<HostControl>(K.hostsCtl),
    store.mapJson<HostPlacements>(K.placements), store.getString(LEADER_KEY),
  ]);
  return { live, info, ctl, placements, leader: leader ?? null };
}

/** Every host the cluster knows: with a record, or alive. */
export function knownHosts(s: Pick<ClusterSnapshot, 'live' | 'info'>): string[] {
  return [...new Set([...s.info.keys(), ...s.live.keys()])].sort();
}

/** A host's state: down without a lease, else cordoned/draining as set, else ready. */
export function hostState(s: Pick<ClusterSnapshot, 'live' | 'ctl'>, name: string): HostState {
  if (!s.live.has(name)) return 'down';
  return s.ctl.get(name)?.state ?? 'ready';
}

/** The scheduler's view of the hosts: every known host, down when its lease is gone. */
export function hostsOf(s: ClusterSnapshot): Host[] {
  return knownHosts(s).map((name): Host => ({
    name, state: hostState(s, name), capacity: s.live.get(name)?.capacity ?? { memoryBytes: 0, cpus: 0, jails: 0 },
  }));
}
