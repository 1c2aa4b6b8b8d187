/**
 * The scheduler's inputs and outputs. Plain data: the leader reads hosts, services and
 * current placements from etcd, calls `schedule`, and writes `placements` back. Every agent
 * then converges its own host to the placements that name it.
 */

/**
 * - ready: takes new replicas and keeps its own.
 * - cordoned: keeps what it has; takes nothing new.
 * - draining: everything on it moves elsewhere.
 * - down: its lease expired; everything on it is placed elsewhere.
 */
export type HostState = 'ready' | 'cordoned' | 'draining' | 'down';
export const HOST_STATES: readonly HostState[] = ['ready', 'cordoned', 'draining', 'down'];

/** What one replica needs. `cpus` may be fractional; the scheduler counts in thousandths. */
export interface Resources {
  memoryBytes: number;
  cpus: number;
  /** Disk limit of the replica's writable dataset; absent: 0 (counts nothing). */
  diskBytes?: number;
}

/**
 * What a host offers to replicas: memory, cpus, a number of jail slots and disk (its pool's
 * size times the cluster's overcommit ratio; absent: not counted, as from an agent older than
 * disk limits).
 */
export interface Capacity extends Resources {
  jails: number;
}

export interface Host {
  name: string;
  state: HostState;
  capacity: Capacity;
  labels?: Readonly<Record<string, string>>;
}

export interface ServiceDemand {
  name: string;
  /** How many replicas, numbered 0..replicas-1. */
  replicas: number;
  /** Per replica. */
  resources: Resources;
  /** Only hosts carrying every one of these labels take a replica (e.g. { disk: 'ssd' }). */
  hostLabels?: Readonly<Record<string, string>>;
}

/** Replica `replica` (0-based) of `service` runs on `host`. */
export interface Placement {
  service: string;
  replica: number;
  host: string;
}

export interface SchedulerInput {
  hosts: readonly Host[];
  services: readonly ServiceDemand[];
  /** What is placed now (the previous output, as stored). */
  current: readonly Placement[];
}

/** Why a replica left the host it was on. */
export type MoveReason =
  | 'host-down'
  | 'host-draining'
  | 'host-unknown' // its host is no longer in the cluster
  | 'labels' // its host no longer has a label the service requires
  | 'over-capacity' // its host has less room than the replicas on it need
  | 'spread'; // it shared a host with another replica of its service, and a host without one has room

/**
 * Why a placement ends without the replica going anywhere. A MoveReason here means the
 * replica had to leave its host and no host had room: it is also listed in `unplaced`.
 */
export type StopReason = 'service-removed' | 'scaled-down' | 'duplicate' | MoveReason;

export type UnplacedCode = 'no-ready-hosts' | 'no-matching-hosts' | 'no-capacity';

export interface Move {
  service: string;
  replica: number;
  from: string;
  to: string;
  reason: MoveReason;
}

export interface Stop {
  service: string;
  replica: number;
  host: string;
  reason: StopReason;
}

export interface Unplaced {
  service: string;
  replica: number;
  code: UnplacedCode;
  /** One human phrase, e.g. "no ready host has room for 2G memory, 1 cpus and a jail slot (...)". */
  reason: string;
}

/**
 * How to get from `current` to `placements`. Every current placement is in exactly one of
 * keep, move (as `from`) or stop; every new placement is in exactly one of keep, move (as
 * `to`) or place.
 */
export interface Plan {
  place: Placement[];
  move: Move[];
  stop: Stop[];
  keep: Placement[];
}

export interface SchedulerResult {
  /** The new desired placements, sorted by service then replica. */
  placements: Placement[];
  plan: Plan;
  unplaced: Unplaced[];
  /** One sentence per change, e.g. "site#2: host b is down; moved to c (...)". */
  decisions: string[];
}
