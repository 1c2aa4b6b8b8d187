/**
 * The load balancer's records in etcd (keys: cluster/keys.ts) and the names it gives things.
 *
 *   lb                          LbRecord     the cluster's `lb:` settings and the stack that set them
 *   certs/<stack>/<service>     CertRecord   a published service's certificate and key (PEM)
 *   lbstate/<host>              LbHostState  what that host's HAProxy has in rotation, with figures (on its lease)
 *
 * Every host runs the same HAProxy configuration: one backend per published service holding
 * every replica in the cluster, on any host. A host's LB reconciler (lb/reconciler.ts) builds
 * it from the cluster snapshot, drives HAProxy's runtime API and writes lbstate/<host>.
 */
import type { LbSpec } from '../spec/types.js';

/** `lb`: the `lb:` section in force, and which stack set it (another stack may not change it). */
export interface LbRecord {
  spec: LbSpec;
  stack: string;
  at: string;
}

/** `certs/<stack>/<service>`: secret (the key); never printed. */
export interface CertRecord {
  /** The names as the stack file gives them (for messages). */
  certFile: string;
  keyFile: string;
  /** PEM: the certificate (with its chain, as given), then the key. */
  certPem: string;
  keyPem: string;
  /** Host names the certificate covers (subject CN and SANs) and when it expires (ISO). */
  names: string[];
  notAfter: string;
  /** sha256 fingerprint of the certificate (hex, colon-free): a change means a reload. */
  fingerprint: string;
}

/** HAProxy's view of one server (a replica), as `show stat` gives it. */
export interface LbServerState {
  /** The replica's jail name (stack.service.N), also its server name in HAProxy. */
  jail: string;
  /** ip:port HAProxy sends to. */
  addr: string;
  /** HAProxy's status: UP, DOWN, DRAIN, MAINT, NOLB, "UP 1/2", "DOWN 1/2", no check... */
  status: string;
  /** True when HAProxy would send it new requests (UP, or "UP n/m" while going down). */
  inRotation: boolean;
  /** Current sessions, total sessions, and failed responses/connections (eresp + econ + 5xx). */
  sessions: number;
  requests: number;
  errors: number;
}

export interface LbBackendState {
  stack: string;
  service: string;
  /** HAProxy's backend name (backendName). */
  backend: string;
  servers: LbServerState[];
}

/** `lbstate/<host>`: written by that host's agent when its rotation changes, and its figures every few seconds. */
export interface LbHostState {
  host: string;
  /** HAProxy's process on this host: running, or why not. */
  haproxy: 'running' | 'stopped' | 'failed';
  message: string | null;
  backends: LbBackendState[];
  /** The floating address, when this host holds it (keepalived MASTER). */
  vipHeld: boolean;
  at: string;
}

/** HAProxy's name for a service's backend: `stack.service` (names cannot contain '.'). */
export const backendName = (stack: string, service: string): string => `${stack}.${service}`;

/** The live hosts whose HAProxy does not have `jail` in rotation (or runs no HAProxy, or says nothing). */
export function notInRotation(jail: string, byHost: ReadonlyMap<string, LbHostState>, liveHosts: readonly string[]): string[] {
  return liveHosts.filter((h) => {
    const st = byHost.get(h);
    if (!st || st.haproxy !== 'running') return true;
    return !st.backends.some((b) => b.servers.some((s) => s.jail === jail && s.inRotation));
  });
}

/** True when every live host's HAProxy has `jail` in rotation (a rollout's "healthy everywhere"). */
export function inRotationEverywhere(jail: string, states: readonly LbHostState[], liveHosts: readonly string[]): boolean {
  return notInRotation(jail, new Map(states.map((s) => [s.host, s])), liveHosts).length === 0;
}
