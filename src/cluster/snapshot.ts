/**
 * The whole cluster state as plain data, read in one go (the leader's input, and `host ls`),
 * and the rules that read it: which hosts exist and in what state.
 */
import { K, LEADER_KEY } from './keys.js';
import type { HostControl, HostInfo, HostLive, HostPlacements, ObservedReplica, ServiceRecord } from './model.js';
import type { Capacity, Host, HostState } from './scheduler-types.js';
import { DEFAULT_OVERCOMMIT, type ClusterSettings } from './subnets.js';
import type { Store } from './store.js';
import type { LbHostState } from '../lb/model.js';
import type { RolloutRecord } from './rollout.js';

export interface ClusterSnapshot {
  live: Map<string, HostLive>;
  info: Map<string, HostInfo>;
  ctl: Map<string, HostControl>;
  services: ServiceRecord[];
  placements: Map<string, HostPlacements>;
  observed: ObservedReplica[];
  /** rollouts/<stack>/<service>: each service's rollout in progress or its last one. */
  rollouts: RolloutRecord[];
  /** lbstate/<host>: what each host's HAProxy has in rotation. */
  lbStates: LbHostState[];
  /** The cluster's settings (absent on a single host, or in a snapshot built by a test). */
  settings?: ClusterSettings;
}

export async function readSnapshot(store: Store): Promise<ClusterSnapshot> {
  const [live, info, ctl, services, placements, observed, settings, rollouts, lbStates] = await Promise.all([
    store.mapJson<HostLive>(K.hostsLive), store.mapJson<HostInfo>(K.hostsInfo), store.mapJson<HostControl>(K.hostsCtl),
    store.listJson<ServiceRecord>(K.services), store.mapJson<HostPlacements>(K.placements), store.listJson<ObservedReplica>(K.observedAll),
    store.getJson<ClusterSettings>(K.settings), store.listJson<RolloutRecord>(K.rollouts), store.listJson<LbHostState>(K.lbStates),
  ]);
  return {
    live, info, ctl, services: services.map((e) => e.value), placements, observed: observed.map((e) => e.value),
    rollouts: rollouts.map((e) => e.value), lbStates: lbStates.map((e) => e.value),
    ...(settings ? { settings } : {}),
  };
}

/** The hosts' part of a snapshot (what `host ls` reads). */
export type HostsSnapshot = Pick<ClusterSnapshot, 'live' | 'info' | 'ctl' | 'placements' | 'settings'>;

export async function readHosts(store: Store): Promise<HostsSnapshot & { leader: string | null }> {
  const [live, info, ctl, placements, leader, settings] = await Promise.all([
    store.mapJson<HostLive>(K.hostsLive), store.mapJson<HostInfo>(K.hostsInfo), store.mapJson<HostControl>(K.hostsCtl),
    store.mapJson<HostPlacements>(K.placements), store.getString(LEADER_KEY), store.getJson<ClusterSettings>(K.settings),
  ]);
  return { live, info, ctl, placements, leader: leader ?? null, ...(settings ? { settings } : {}) };
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

/**
 * The scheduler's view of the hosts: every known host, down when its lease is gone; the disk
 * each offers is its pool's size times the cluster's overcommit ratio.
 */
export function hostsOf(s: ClusterSnapshot): Host[] {
  const ratio = s.settings?.overcommit ?? DEFAULT_OVERCOMMIT;
  return knownHosts(s).map((name): Host => ({
    name, state: hostState(s, name), capacity: offered(s.live.get(name)?.capacity ?? { memoryBytes: 0, cpus: 0, jails: 0 }, ratio),
  }));
}

/** The cluster's default disk for the leader's plan, when set (`cluster init --default-disk`). */
export function defaultDiskOf(s: Pick<ClusterSnapshot, 'settings'>): { defaultDiskBytes?: number } {
  return s.settings?.defaultDisk !== undefined ? { defaultDiskBytes: s.settings.defaultDisk } : {};
}

/** A host's capacity as the scheduler counts it: disk times the overcommit ratio. */
export function offered(c: Capacity, ratio: number): Capacity {
  return c.diskBytes === undefined ? c : { ...c, diskBytes: Math.floor(c.diskBytes * ratio) };
}
