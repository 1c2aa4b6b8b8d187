/**
 * The desired load balancer of a host, computed from the cluster state (pure). Every host
 * computes the same value: one backend per published service, holding every replica of it in
 * the cluster whose observed record on its placed host says running with an address.
 *
 * The reconciler (reconciler.ts) builds haproxy.cfg from it (haproxy-config.ts) and drives
 * HAProxy's runtime API towards its servers (plan.ts). What needs a reload (frontends,
 * backends' settings, certificates) is its `shape`; servers come and go without one.
 */
import { join } from 'node:path';
import type { HostPlacements, ObservedReplica, ServiceRecord } from '../cluster/model.js';
import { LB_DEFAULTS, type HealthSpec } from '../spec/types.js';
import { backendName, type CertRecord, type LbRecord } from './model.js';

/** How HAProxy checks a server: an HTTP request (path, expected status) or a TCP connect, on `port` (absent: the server's). */
export type CheckSettings =
  | { kind: 'http'; port?: number; path: string; expectStatus: number }
  | { kind: 'tcp'; port?: number };

export interface DesiredServer {
  /** The replica's jail name (HAProxy's server name). */
  name: string;
  addr: string;
  port: number;
  /** Assignment.drain: no new requests, in-flight ones finish. */
  drain: boolean;
}

export interface DesiredBackend {
  stack: string;
  service: string;
  /** backendName(stack, service). */
  backend: string;
  mode: 'http' | 'tcp';
  /** Host names routed here (http mode), lowercase. */
  hosts: string[];
  /** The TCP port of its frontend (tcp mode). */
  tcp?: number;
  /** Served on the https port too, with this file's certificate. */
  certFile?: string;
  check: CheckSettings;
  /** HAProxy's `timeout server` for this backend (publish.timeout); absent: the defaults' 30 s. */
  timeoutMs?: number;
  servers: DesiredServer[];
}

export interface DesiredCert {
  /** DATA_DIR/lb/certs/<stack>.<service>.pem: certificate, chain and key (0600). */
  file: string;
  pem: string;
  fingerprint: string;
}

export interface DesiredLb {
  http: number;
  https: number;
  /** Sorted by backend name; servers sorted by name. */
  backends: DesiredBackend[];
  certs: DesiredCert[];
}

export interface DesiredInput {
  lb: LbRecord | undefined;
  services: readonly ServiceRecord[];
  placements: ReadonlyMap<string, HostPlacements>;
  observed: readonly ObservedReplica[];
  /** By `stack/service`. */
  certs: ReadonlyMap<string, CertRecord>;
  /** DATA_DIR/lb/certs. */
  certDir: string;
}

/** The check HAProxy runs for a service: its http check, else a TCP connect to its port. */
export function checkOf(health: HealthSpec | undefined): CheckSettings {
  if (health?.kind === 'http') return { kind: 'http', port: health.port, path: health.path, expectStatus: health.expectStatus };
  return { kind: 'tcp' };
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function desiredLb(i: DesiredInput): DesiredLb {
  const spec = i.lb?.spec ?? LB_DEFAULTS;
  const running = new Map<string, ObservedReplica>();
  for (const o of i.observed) if (o.phase === 'running' && o.ip) running.set(`${o.host}/${o.jail}`, o);
  const backends: DesiredBackend[] = [];
  const certs: DesiredCert[] = [];
  for (const rec of i.services) {
    const { spec: s, stack } = rec;
    const pub = s.publish;
    if (!pub || s.port === undefined) continue;
    const http = pub.http ?? [];
    if (http.length === 0 && pub.tcp === undefined) continue;
    const backend = backendName(stack, s.name);
    const servers: DesiredServer[] = [];
    for (const [host, p] of i.placements) {
      for (const a of p.assignments) {
        if (a.stack !== stack || a.service !== s.name) continue;
        const o = running.get(`${host}/${a.jail}`);
        if (!o?.ip) continue;
        servers.push({ name: a.jail, addr: o.ip, port: s.port, drain: a.drain === true });
      }
    }
    servers.sort(byName);
    const cert = pub.tls && http.length > 0 ? i.certs.get(`${stack}/${s.name}`) : undefined;
    const certFile = cert ? join(i.certDir, `${backend}.pem`) : undefined;
    if (cert && certFile) certs.push({ file: certFile, pem: pemOf(cert), fingerprint: cert.fingerprint });
    backends.push({
      stack, service: s.name, backend,
      mode: http.length > 0 ? 'http' : 'tcp',
      hosts: [...http],
      ...(http.length === 0 && pub.tcp !== undefined ? { tcp: pub.tcp } : {}),
      ...(certFile ? { certFile } : {}),
      ...(pub.timeoutMs !== undefined ? { timeoutMs: pub.timeoutMs } : {}),
      check: checkOf(s.health),
      servers,
    });
  }
  backends.sort((a, b) => (a.backend < b.backend ? -1 : a.backend > b.backend ? 1 : 0));
  certs.sort((a, b) => (a.file < b.file ? -1 : 1));
  return { http: spec.http, https: spec.https, backends, certs };
}

/** The certificate file HAProxy reads: certificate (and chain), then the key. */
export function pemOf(c: CertRecord): string {
  const nl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
  return nl(c.certPem) + nl(c.keyPem);
}

/**
 * Everything of the desired LB that only a reload changes: ports, backends and their settings,
 * certificates. Two values with the same shape differ only in servers (runtime API).
 */
export function shapeOf(d: DesiredLb): string {
  return JSON.stringify({
    http: d.http, https: d.https,
    backends: d.backends.map(({ servers: _servers, ...rest }) => rest),
    certs: d.certs.map((c) => [c.file, c.fingerprint]),
  });
}

/** True when HAProxy has something to serve (it runs only then). */
export const hasPublished = (d: DesiredLb): boolean => d.backends.length > 0;
