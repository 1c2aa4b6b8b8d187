/**
 * The scheduler's working model: validated, normalized (sorted by name, so the order of the
 * input never matters) and in integer units (bytes, thousandths of a cpu, jail slots).
 */
import { HOST_STATES, type Host, type HostState, type MoveReason, type Placement, type SchedulerInput, type ServiceDemand } from './scheduler-types.js';

/**
 * Malformed input. The scheduler's input is state cellblock wrote itself (validated stack
 * files, agent fingerprints), so this is a bug upstream, not a user error: it names the field.
 */
export class SchedulerInputError extends Error {
  override name = 'SchedulerInputError';
}

export interface HostSlot {
  readonly name: string;
  readonly state: HostState;
  /** Takes new replicas. */
  readonly ready: boolean;
  readonly labels: ReadonlyMap<string, string>;
  readonly cap: { readonly mem: number; readonly milli: number; readonly jails: number; readonly disk: number };
  freeMem: number;
  freeMilli: number;
  freeJails: number;
  /** Bytes; UNCOUNTED_DISK when the host does not say. */
  freeDisk: number;
}

/** The disk of a host that publishes none: so large that no demand exhausts it. */
export const UNCOUNTED_DISK = Number.MAX_SAFE_INTEGER;

export interface Svc {
  readonly name: string;
  readonly replicas: number;
  readonly mem: number;
  readonly milli: number;
  readonly disk: number;
  /** Labels a host must carry; empty: any host. */
  readonly hostLabels: readonly (readonly [string, string])[];
  /** How many ready hosts carry those labels. */
  eligible: number;
  /** Where its replicas are, while the scheduler works. */
  readonly onHost: Map<HostSlot, Replica[]>;
}

export interface Replica {
  readonly svc: Svc;
  readonly index: number;
  /** The host it is on in `current`, if any. */
  readonly from: string | null;
  /** Where it goes; null while unplaced. */
  host: HostSlot | null;
  /** Why it left `from`. */
  cause: MoveReason | null;
  /** Detail for the cause: the missing label, the short resource. */
  causeDetail: string;
  /** Why `host` was chosen, for the decision sentence. */
  note: string;
}

export interface Model {
  hosts: HostSlot[];
  hostByName: Map<string, HostSlot>;
  svcs: Svc[];
  svcByName: Map<string, Svc>;
  /** `current`, without exact duplicates, sorted by service, replica, host. */
  current: Placement[];
}

export const byName = (a: { name: string }, b: { name: string }): number => cmpStr(a.name, b.name);

/** Code-point order: the same on every machine and locale. */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function cmpPlacement(a: Placement, b: Placement): number {
  return cmpStr(a.service, b.service) || a.replica - b.replica || cmpStr(a.host, b.host);
}

export function hostMatches(svc: Svc, h: HostSlot): boolean {
  for (const [k, v] of svc.hostLabels) if (h.labels.get(k) !== v) return false;
  return true;
}

/** The first label of `svc` that `h` lacks, as "k=v"; '' if none. */
export function missingLabel(svc: Svc, h: HostSlot): string {
  for (const [k, v] of svc.hostLabels) if (h.labels.get(k) !== v) return `${k}=${v}`;
  return '';
}

export function buildModel(input: SchedulerInput): Model {
  if (!input || typeof input !== 'object') bad('input', 'expected { hosts, services, current }', input);
  const hosts = list(input.hosts, 'hosts').map(hostSlot).sort(byName);
  const hostByName = unique(hosts, 'hosts');
  const svcs = list(input.services, 'services').map(svcOf).sort(byName);
  const svcByName = unique(svcs, 'services');
  countEligible(hosts, svcs);
  const all = list(input.current, 'current').map((p, i) => placement(p, `current[${i}]`)).sort(cmpPlacement);
  const current = all.filter((p, i) => i === 0 || cmpPlacement(all[i - 1]!, p) !== 0);
  return { hosts, hostByName, svcs, svcByName, current };
}

/** Sets each service's `eligible`: ready hosts with its labels, counted once per label set. */
function countEligible(hosts: HostSlot[], svcs: Svc[]): void {
  const ready = hosts.filter((h) => h.ready);
  const bySet = new Map<string, number>();
  for (const s of svcs) {
    const key = JSON.stringify(s.hostLabels);
    let n = bySet.get(key);
    if (n === undefined) {
      n = s.hostLabels.length === 0 ? ready.length : ready.filter((h) => hostMatches(s, h)).length;
      bySet.set(key, n);
    }
    s.eligible = n;
  }
}

function hostSlot(h: Host, i: number): HostSlot {
  const at = `hosts[${i}]`;
  obj(h, at);
  const name = str(h.name, `${at}.name`);
  if (!HOST_STATES.includes(h.state)) bad(`${at}.state`, `expected one of ${HOST_STATES.join(', ')}`, h.state);
  obj(h.capacity, `${at}.capacity`);
  const mem = count(h.capacity.memoryBytes, `${at}.capacity.memoryBytes`);
  const milli = millicpus(h.capacity.cpus, `${at}.capacity.cpus`);
  const jails = count(h.capacity.jails, `${at}.capacity.jails`);
  const disk = h.capacity.diskBytes === undefined ? UNCOUNTED_DISK : count(h.capacity.diskBytes, `${at}.capacity.diskBytes`);
  return {
    name, state: h.state, ready: h.state === 'ready', labels: labels(h.labels, `${at}.labels`),
    cap: { mem, milli, jails, disk }, freeMem: mem, freeMilli: milli, freeJails: jails, freeDisk: disk,
  };
}

function svcOf(s: ServiceDemand, i: number): Svc {
  const at = `services[${i}]`;
  obj(s, at);
  const name = str(s.name, `${at}.name`);
  const replicas = count(s.replicas, `${at}.replicas`, MAX_REPLICAS);
  obj(s.resources, `${at}.resources`);
  const mem = count(s.resources.memoryBytes, `${at}.resources.memoryBytes`);
  const milli = millicpus(s.resources.cpus, `${at}.resources.cpus`);
  const disk = s.resources.diskBytes === undefined ? 0 : count(s.resources.diskBytes, `${at}.resources.diskBytes`);
  const hostLabels = [...labels(s.hostLabels, `${at}.hostLabels`)].sort((a, b) => cmpStr(a[0], b[0]));
  return { name, replicas, mem, milli, disk, hostLabels, eligible: 0, onHost: new Map() };
}

function placement(p: Placement, at: string): Placement {
  obj(p, at);
  return { service: str(p.service, `${at}.service`), replica: count(p.replica, `${at}.replica`), host: str(p.host, `${at}.host`) };
}

function unique<T extends { name: string }>(xs: T[], at: string): Map<string, T> {
  const m = new Map<string, T>();
  for (const x of xs) {
    if (m.has(x.name)) throw new SchedulerInputError(`scheduler input ${at}: ${JSON.stringify(x.name)} is listed twice`);
    m.set(x.name, x);
  }
  return m;
}

function labels(v: unknown, at: string): Map<string, string> {
  const m = new Map<string, string>();
  if (v === undefined) return m;
  obj(v, at);
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) m.set(k, str(val, `${at}.${k}`, true));
  return m;
}

function list<T>(v: readonly T[] | undefined, at: string): readonly T[] {
  if (!Array.isArray(v)) bad(at, 'expected a list', v);
  return v as readonly T[];
}

function obj(v: unknown, at: string): void {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(at, 'expected an object', v);
}

function str(v: unknown, at: string, emptyOk = false): string {
  if (typeof v !== 'string' || (!emptyOk && v === '')) bad(at, 'expected a non-empty string', v);
  return v as string;
}

/** More replicas of one service than any cluster could hold: a bug upstream, not a demand. */
const MAX_REPLICAS = 1_000_000;

function count(v: unknown, at: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    bad(at, max === Number.MAX_SAFE_INTEGER ? 'expected a whole number >= 0' : `expected a whole number from 0 to ${max}`, v);
  }
  return v as number;
}

function millicpus(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e9) bad(at, 'expected a number of cpus >= 0', v);
  return Math.round((v as number) * 1000);
}

function bad(at: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : Array.isArray(got) ? 'a list' : String(got);
  throw new SchedulerInputError(`scheduler input ${at}: ${expected}, got ${shown}`);
}
