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
  /** The cluster-wide load balancer settings (`lb:`), when the file has the section. */
  lb?: LbSpec;
}

/**
 * `lb:`: one per cluster. The first stack that sets it owns it; another stack whose `lb:`
 * differs is refused. Absent everywhere: ports 80 and 443, no floating address.
 */
export interface LbSpec {
  /** The floating address keepalived moves between hosts (IPv4, in the hosts' network); absent: none. */
  vip?: string;
  /** The HTTP port of every host (and the VIP); default 80. */
  http: number;
  /** The HTTPS port; default 443. Only listened on when a published service has `tls`. */
  https: number;
}

export const LB_DEFAULTS = { http: 80, https: 443 } as const;

/** `publish:`: how the load balancer exposes a service. Either virtual hosts (http) or a TCP port. */
export interface PublishSpec {
  /** Host names routed to the service on the http (and https) ports, lowercase, in file order. */
  http?: string[];
  /**
   * Certificate and key files as written in the stack file (relative to its directory). Their
   * contents are read by the CLI at apply, checked by the agent and stored in the cluster
   * (lb/model.ts CertRecord); the spec keeps only the names.
   */
  tls?: { cert: string; key: string };
  /** A TCP port on every host and on the VIP, forwarded to the service's port. */
  tcp?: number;
  /**
   * How long HAProxy waits for a replica's answer (its `timeout server`) before a GET is tried
   * on another replica, and a request that hangs on a dead host is given up; absent: 30 s.
   */
  timeoutMs?: number;
}

/** `deploy:`: how a change of the spec rolls out (see the rollout in cluster/leader-plan.ts). */
export interface DeploySpec {
  /** Extra replicas started on the new spec before old ones stop; default 1. */
  maxSurge: number;
  /** Replicas that may be out of rotation during the rollout; default 0. */
  maxUnavailable: number;
  /** New replicas not healthy in every host's HAProxy within this (ms): rolled back; default 120 s. */
  deadlineMs: number;
  /** An old replica gets no new requests and this long (ms) for in-flight ones before it stops; default 10 s. */
  drainMs: number;
  /** A share (0..1) of failed responses from new replicas, over at least 20 requests, that rolls back; default 0.1. */
  maxErrorRate: number;
}

export const DEPLOY_DEFAULTS: DeploySpec = { maxSurge: 1, maxUnavailable: 0, deadlineMs: 120_000, drainMs: 10_000, maxErrorRate: 0.1 };

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
  /** Published through the load balancer (needs `port`); absent: no frontend. Not part of the spec hash. */
  publish?: PublishSpec;
  /** Rollout settings; defaults filled in (DEPLOY_DEFAULTS). Not part of the spec hash. */
  deploy: DeploySpec;
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
