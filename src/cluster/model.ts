/**
 * What the cluster keeps in etcd, as types and key names (relative to KEY_PREFIX, see keys.ts).
 *
 *   hosts/<host>                    HostLive      attached to the host's lease: exists = alive
 *   hostinfo/<host>                 HostInfo      no lease: the cluster knows the host while it is down
 *   hostctl/<host>                  HostControl   cordoned | draining, set by `host cordon|drain`
 *   subnets/<a.b.c.d>               host name     one jail subnet per host, allocated by txn
 *   stacks/<stack>                  StackRecord   what `apply` wrote (its services by name)
 *   services/<stack>/<service>      ServiceRecord the desired service (normalized spec + hash)
 *   placements/<host>               HostPlacements written by the leader only (guarded)
 *   observed/<host>/<jail>          ObservedReplica written by the host's agent, attached to its lease
 *   images/<name>/<tag>/<host>      ImageHolder   the host holds that image (attached to its lease)
 *   tokens/<id>                     JoinToken     single-use join tokens (etcd lease = expiry)
 *   removed/<host>                  {at}          a host taken out by `cluster remove`: it may not come back
 *   leader                          election (election.ts)
 */
import type { ServiceSpec } from '../spec/types.js';
import type { Capacity, HostState } from './scheduler-types.js';

export const K = {
  hostLive: (h: string) => `hosts/${h}`,
  hostsLive: 'hosts/',
  hostInfo: (h: string) => `hostinfo/${h}`,
  hostsInfo: 'hostinfo/',
  hostCtl: (h: string) => `hostctl/${h}`,
  hostsCtl: 'hostctl/',
  subnet: (net: string) => `subnets/${net}`,
  subnets: 'subnets/',
  stack: (s: string) => `stacks/${s}`,
  stacks: 'stacks/',
  service: (stack: string, svc: string) => `services/${stack}/${svc}`,
  servicesOf: (stack: string) => `services/${stack}/`,
  services: 'services/',
  placement: (h: string) => `placements/${h}`,
  placements: 'placements/',
  observed: (h: string, jail: string) => `observed/${h}/${jail}`,
  observedOf: (h: string) => `observed/${h}/`,
  observedAll: 'observed/',
  imageHolder: (name: string, tag: string, h: string) => `images/${name}/${tag}/${h}`,
  imageHolders: (name: string, tag: string) => `images/${name}/${tag}/`,
  images: 'images/',
  token: (id: string) => `tokens/${id}`,
  removed: (h: string) => `removed/${h}`,
} as const;

/** What a live agent publishes about its host (attached to its lease). */
export interface HostLive {
  name: string;
  /** Host address other hosts and the CLI reach it at (the --advertise address). */
  address: string;
  /** TCP port of the mTLS agent API. */
  apiPort: number;
  /** This host's jail subnet (CIDR). */
  subnet: string;
  capacity: Capacity;
  /** 'member' runs an etcd member; 'client' only talks to the members. */
  etcd: 'member' | 'client' | 'single';
  version: string;
  startedAt: string;
}

/** Persistent host record: the cluster remembers a host while it is down. */
export interface HostInfo {
  name: string;
  address: string;
  apiPort: number;
  subnet: string;
  joinedAt: string;
}

export interface HostControl {
  state: Extract<HostState, 'cordoned' | 'draining'>;
  at: string;
}

export interface StackRecord {
  name: string;
  /** The file it was applied from, as given (for status). */
  file: string;
  services: string[];
  appliedAt: string;
}

/** services/<stack>/<service>: the normalized spec and its hash. */
export interface ServiceRecord {
  stack: string;
  spec: ServiceSpec;
  /** sha256 (hex, 16 chars) of the canonical JSON of spec: a change means a rolling replace. */
  specHash: string;
}

/** One replica a host must run: everything its agent needs, so it reads no other key. */
export interface Assignment {
  stack: string;
  service: string;
  replica: number;
  /** The jail's name on the host: `<stack>.<service>.<replica>` (see replicaJailName). */
  jail: string;
  spec: ServiceSpec;
  specHash: string;
}

/** placements/<host>, written by the leader. */
export interface HostPlacements {
  host: string;
  assignments: Assignment[];
  /** The leader that wrote it and when, for status. */
  by: string;
  at: string;
}

export type ReplicaPhase = 'pulling' | 'creating' | 'running' | 'stopped' | 'failed';

/** observed/<host>/<jail>, written by that host's agent. */
export interface ObservedReplica {
  host: string;
  jail: string;
  stack: string;
  service: string;
  replica: number;
  specHash: string;
  phase: ReplicaPhase;
  /** True after `threshold` passing checks (or while running, for a service without a check). */
  healthy: boolean;
  ip: string | null;
  /** One phrase on what went wrong, when phase is failed or it is unhealthy. */
  message: string | null;
  at: string;
}

/** images/<name>/<tag>/<host>: that host holds the image, and its lineage for incremental pulls. */
export interface ImageHolder {
  host: string;
  /** NAME:TAG of the image it was built from, or null. */
  parent: string | null;
  at: string;
}

/** tokens/<id>: a join token's secret is stored only as a hash. */
export interface JoinToken {
  secretSha256: string;
  expiresAt: string;
}

/** The jail name of a replica: stack and service names cannot contain '.', so this is unambiguous. */
export function replicaJailName(stack: string, service: string, replica: number): string {
  return `${stack}.${service}.${replica}`;
}

/** The parts of a replica jail name, or undefined for a jail not made by the reconciler. */
export function parseReplicaJailName(jail: string): { stack: string; service: string; replica: number } | undefined {
  const m = /^([a-z0-9][a-z0-9_-]*)\.([a-z0-9][a-z0-9_-]*)\.(\d{1,4})$/.exec(jail);
  return m ? { stack: m[1]!, service: m[2]!, replica: Number(m[3]) } : undefined;
}
