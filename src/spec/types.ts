/**
 * The normalized stack: what parseStack returns and what the scheduler and reconcilers
 * consume. Every default is filled in, sizes are bytes, durations are milliseconds, so
 * nothing downstream re-reads or re-interprets the stack file.
 */
import type { ImageRef } from '../sys/names.js';
import type { RestartPolicy } from '../jail/model.js';
import type { EtcSpec } from '../jail/etc-spec.js';

/**
 * The jail's user as the file gives it, resolved on the host that runs the replica (names
 * against that host's passwd and group, as `jail create --user` does). Numbers stay numbers
 * (`user: 1000` is { uid: 1000, gid: 1000 }); a name stays a name; `gid: ""` means the
 * user's login group (`user: www-data`), so `${uid}:${gid}` is what `--user` accepts.
 */
export interface ServiceUser { uid: number | string; gid: number | string }

export interface Stack {
  /** By service name, in the order of the file. */
  services: Record<string, ServiceSpec>;
}

export interface ServiceSpec {
  name: string;
  image: ImageRef;
  /** Copies on distinct hosts; default 1. */
  replicas: number;
  command: string[];
  /** Values as strings (numbers and booleans in the file are converted). */
  env: Record<string, string>;
  /** Memory limit per replica; absent means no limit. */
  memoryBytes?: number;
  /** CPU quota per replica; absent means no limit. */
  cpus?: number;
  /** Default DEFAULT_PIDS (jail/model.ts). */
  pids: number;
  /**
   * Disk limit of each replica's writable dataset; absent: DEFAULT_DISK (jail/model.ts), which
   * is also what the scheduler counts.
   */
  diskBytes?: number;
  /** Writable directories: absolute, normalized, deduplicated, sorted. */
  rw: string[];
  /** Default "always". */
  restart: RestartPolicy;
  /** Default root (0:0) inside the jail. */
  user: ServiceUser;
  /**
   * Files the replica adds to the host's /etc it sees: path under /etc -> /app/... or "host"
   * (see jail/etc-spec.ts). Present only when the file has entries.
   */
  etc?: EtcSpec;
  /** The port the load balancer sends traffic to; absent means not balanced. */
  port?: number;
  /** Absent means "running is healthy". */
  health?: HealthSpec;
}

export type HealthSpec = HttpHealth | CommandHealth;

interface HealthTiming {
  /** Time between checks; default 5000. */
  intervalMs: number;
  /** A check slower than this failed; default 2000, always < intervalMs. */
  timeoutMs: number;
  /** Consecutive results that flip a replica between healthy and unhealthy; default 3. */
  threshold: number;
}

export interface HttpHealth extends HealthTiming {
  kind: 'http';
  port: number;
  /** Starts with "/". */
  path: string;
  /** The status that means healthy; default 200. */
  expectStatus: number;
}

export interface CommandHealth extends HealthTiming {
  kind: 'command';
  /** Run inside the jail; exit 0 means healthy. */
  command: string[];
}

export const HEALTH_DEFAULTS = { intervalMs: 5000, timeoutMs: 2000, threshold: 3, expectStatus: 200 } as const;
export const DEFAULT_REPLICAS = 1;
export const DEFAULT_SERVICE_RESTART: RestartPolicy = 'always';
