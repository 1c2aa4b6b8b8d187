/** Small builders for scheduler tests: host('a', { mem: '4G' }), svc('site', 3), at('site', 0, 'a'). */
import { parseSize } from '../../src/sys/size.js';
import { schedule, summarize, type Host, type HostState, type Placement, type SchedulerResult, type ServiceDemand } from '../../src/cluster/scheduler.js';

export interface HostOpts {
  mem?: string | number;
  cpus?: number;
  jails?: number;
  /** Pool size (times the overcommit ratio); absent: not counted. */
  disk?: string | number;
  state?: HostState;
  labels?: Record<string, string>;
}

/** Defaults: 16G memory, 8 cpus, 100 jail slots, ready. */
export function host(name: string, o: HostOpts = {}): Host {
  const h: Host = {
    name,
    state: o.state ?? 'ready',
    capacity: { memoryBytes: parseSize('mem', o.mem ?? '16G', { min: 0 }), cpus: o.cpus ?? 8, jails: o.jails ?? 100 },
  };
  if (o.labels) h.labels = o.labels;
  if (o.disk !== undefined) h.capacity.diskBytes = parseSize('disk', o.disk, { min: 0 });
  return h;
}

/** `hosts('a b c', { mem: '4G' })` */
export function hosts(names: string, o: HostOpts = {}): Host[] {
  return names.split(/\s+/).filter(Boolean).map((n) => host(n, o));
}

export const down = (name: string, o: HostOpts = {}): Host => host(name, { ...o, state: 'down' });
export const cordoned = (name: string, o: HostOpts = {}): Host => host(name, { ...o, state: 'cordoned' });
export const draining = (name: string, o: HostOpts = {}): Host => host(name, { ...o, state: 'draining' });

export interface SvcOpts {
  mem?: string | number;
  cpus?: number;
  /** Disk limit per replica; absent: none counted. */
  disk?: string | number;
  labels?: Record<string, string>;
}

/** Defaults per replica: 256M memory, 0.25 cpus. */
export function svc(name: string, replicas: number, o: SvcOpts = {}): ServiceDemand {
  const s: ServiceDemand = {
    name, replicas,
    resources: { memoryBytes: parseSize('mem', o.mem ?? '256M', { min: 0 }), cpus: o.cpus ?? 0.25 },
  };
  if (o.labels) s.hostLabels = o.labels;
  if (o.disk !== undefined) s.resources.diskBytes = parseSize('disk', o.disk, { min: 0 });
  return s;
}

export const at = (service: string, replica: number, hostName: string): Placement => ({ service, replica, host: hostName });

/** `layout('site', 'a b c')`: site#0 on a, site#1 on b, site#2 on c. */
export function layout(service: string, hostNames: string): Placement[] {
  return hostNames.split(/\s+/).filter(Boolean).map((h, i) => at(service, i, h));
}

export function run(hs: Host[], ss: ServiceDemand[], current: Placement[] = []): SchedulerResult {
  return schedule({ hosts: hs, services: ss, current });
}

/** "place 3, move 0, stop 0, keep 0, unplaced 0" */
export const counts = summarize;

/** Hosts of a service's replicas, by replica index ('-' where unplaced): "a b c". */
export function hostsOf(r: SchedulerResult, service: string): string {
  const out: string[] = [];
  for (const p of r.placements) if (p.service === service) out[p.replica] = p.host;
  const n = Math.max(out.length, ...r.unplaced.filter((u) => u.service === service).map((u) => u.replica + 1));
  return Array.from({ length: n }, (_, i) => out[i] ?? '-').join(' ');
}

/** Replicas per host: { a: 2, b: 1 }. */
export function perHost(r: SchedulerResult, service?: string): Record<string, number> {
  const n: Record<string, number> = {};
  for (const p of r.placements) if (!service || p.service === service) n[p.host] = (n[p.host] ?? 0) + 1;
  return n;
}

/** Deep-freezes a value, so a test fails if the scheduler mutates its input. */
export function frozen<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}
