/**
 * The records the cluster keeps in etcd, as types. Where each lives: the key layout in keys.ts.
 */
import type { ServiceSpec } from '../spec/types.js';
import type { Capacity, HostState } from './scheduler-types.js';

/** What a live agent publishes about its host (attached to its lease). */
export interface HostLive {
  name: string;
  /** Host address other hosts and the CLI reach it at (the --advertise address). */
  address: string;
  /** TCP port of the mTLS agent API. */
  apiPort: number;
  /** This host's jail subnet (CIDR). */
  subnet: string;
  /** capacity.diskBytes is the pool's size, before the cluster's overcommit ratio. */
  capacity: Capacity;
  /** Free bytes of the pool as the file system says (for `host ls`; not the scheduler's). */
  diskFreeBytes?: number;
  /** 'member' runs an etcd member; 'client' only talks to the members. */
  etcd: 'member' | 'client' | 'single';
  version: string;
  startedAt: string;
  /**
   * The network of the interface that carries `address` (CIDR, e.g. 10.0.0.0/24) and that
   * interface's name: where a floating address (lb.vip) may go. Absent from older agents.
   */
  network?: string;
  interface?: string;
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
  /**
   * Set by the leader while a rollout takes this replica out: every host's HAProxy puts it in
   * drain (no new requests, in-flight ones finish) until the leader stops or replaces it.
   */
  drain?: boolean;
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
