/**
 * Desired state from stack files: the pure parts of apply, diff, status and delete. A stack
 * is named (by default after its file) and owns services/<stack>/<service>; apply writes them
 * and the stack record in one transaction, so a cluster never holds half a stack file.
 */
import { createHash } from 'node:crypto';
import type { ServiceSpec, Stack } from '../spec/types.js';
import { type Assignment, type HostPlacements, type ObservedReplica, type ServiceRecord, type StackRecord } from './model.js';
import { K } from './keys.js';
import type { TxnWrite } from './store.js';
import { UserError } from '../sys/errors.js';

/** JSON with object keys sorted at every level: the same spec always hashes the same. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * 16 hex chars of sha256 over the canonical spec, without what changes no jail: `replicas`
 * (scaling is no rollout), `publish` (the load balancer follows it live) and `deploy` (how a
 * rollout goes). A change of the rest is a rollout.
 */
export function specHash(spec: ServiceSpec): string {
  const { replicas: _r, publish: _p, deploy: _d, ...rest } = spec;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex').slice(0, 16);
}

export function serviceRecords(stack: string, s: Stack): ServiceRecord[] {
  return Object.values(s.services).map((spec) => ({ stack, spec, specHash: specHash(spec) }));
}

export interface ServiceDiff {
  service: string;
  /** `config`: only publish or deploy differ, which roll nothing out (the load balancer follows them live). */
  change: 'add' | 'update' | 'scale' | 'config' | 'remove' | 'none';
  /** Fields that differ (update, config), or the replica counts (scale, with config fields after them). */
  details: string[];
}

/** What apply would change, per service, sorted by name. */
export function diffStack(current: readonly ServiceRecord[], next: readonly ServiceRecord[]): ServiceDiff[] {
  const cur = new Map(current.map((r) => [r.spec.name, r]));
  const nxt = new Map(next.map((r) => [r.spec.name, r]));
  const out: ServiceDiff[] = [];
  for (const name of [...new Set([...cur.keys(), ...nxt.keys()])].sort()) {
    const a = cur.get(name);
    const b = nxt.get(name);
    if (!a) { out.push({ service: name, change: 'add', details: [`${b!.spec.replicas} replicas of ${b!.spec.image.name}:${b!.spec.image.tag}`] }); continue; }
    if (!b) { out.push({ service: name, change: 'remove', details: [`${a.spec.replicas} replicas`] }); continue; }
    const fields = changedFields(a.spec, b.spec);
    const scaled = a.spec.replicas !== b.spec.replicas ? [`replicas ${a.spec.replicas} -> ${b.spec.replicas}`] : [];
    if (a.specHash !== b.specHash) out.push({ service: name, change: 'update', details: [...fields, ...scaled] });
    else if (scaled.length) out.push({ service: name, change: 'scale', details: [...scaled, ...fields] });
    else if (fields.length) out.push({ service: name, change: 'config', details: fields });
    else out.push({ service: name, change: 'none', details: [] });
  }
  return out;
}

function changedFields(a: ServiceSpec, b: ServiceSpec): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => k !== 'replicas' && k !== 'name').sort();
  const out: string[] = [];
  for (const k of keys) {
    const x = (a as unknown as Record<string, unknown>)[k];
    const y = (b as unknown as Record<string, unknown>)[k];
    if (canonicalJson(x) === canonicalJson(y)) continue;
    if (k === 'image') out.push(`image ${fmtImage(x)} -> ${fmtImage(y)}`);
    else out.push(`${k} changed`);
  }
  return out;
}

const fmtImage = (v: unknown) => (v && typeof v === 'object' ? `${(v as { name: string }).name}:${(v as { tag: string }).tag}` : 'none');

/** The writes of `apply`: the stack record, every service, and deletes of removed services. */
export function applyWrites(name: string, file: string, current: readonly ServiceRecord[], next: readonly ServiceRecord[], at: string): TxnWrite[] {
  const writes: TxnWrite[] = [];
  const rec: StackRecord = { name, file, services: next.map((r) => r.spec.name), appliedAt: at };
  writes.push({ put: K.stack(name), value: JSON.stringify(rec) });
  const keep = new Set(next.map((r) => r.spec.name));
  for (const r of next) writes.push({ put: K.service(name, r.spec.name), value: JSON.stringify(r) });
  for (const r of current) if (!keep.has(r.spec.name)) writes.push({ delete: K.service(name, r.spec.name) });
  return writes;
}

export interface ReplicaStatus {
  replica: number;
  host: string | null;
  /** Desired spec hash reached on that host. */
  current: boolean;
  phase: ObservedReplica['phase'] | 'unplaced' | 'pending';
  healthy: boolean;
  ip: string | null;
  message: string | null;
}

export interface ServiceStatus {
  stack: string;
  service: string;
  image: string;
  replicas: number;
  specHash: string;
  /** Replicas running the desired spec and healthy. */
  ready: number;
  instances: ReplicaStatus[];
}

/**
 * Desired against observed for every service of the given stacks. `unplacedWhy`: by jail name,
 * why the scheduler leaves a replica unplaced (its message).
 */
export function serviceStatus(
  services: readonly ServiceRecord[], placements: readonly HostPlacements[], observed: readonly ObservedReplica[], unplacedWhy: ReadonlyMap<string, string> = new Map(),
): ServiceStatus[] {
  const placed = new Map<string, { host: string; a: Assignment }>();
  for (const p of placements) for (const a of p.assignments) placed.set(a.jail, { host: p.host, a });
  const seen = new Map<string, ObservedReplica>();
  for (const o of observed) {
    const at = placed.get(o.jail);
    if (at && at.host === o.host) seen.set(o.jail, o); // a replica counts only where it is placed
  }
  const out: ServiceStatus[] = [];
  for (const s of [...services].sort((a, b) => (a.stack + '/' + a.spec.name < b.stack + '/' + b.spec.name ? -1 : 1))) {
    const instances: ReplicaStatus[] = [];
    for (let i = 0; i < s.spec.replicas; i++) {
      const jail = `${s.stack}.${s.spec.name}.${i}`;
      const p = placed.get(jail);
      const o = seen.get(jail);
      const current = Boolean(o && o.specHash === s.specHash);
      instances.push({
        replica: i,
        host: p?.host ?? null,
        current,
        phase: !p ? 'unplaced' : o ? o.phase : 'pending',
        healthy: Boolean(o?.healthy) && current,
        ip: o?.ip ?? null,
        message: o?.message ?? (p ? null : unplacedWhy.get(jail) ?? null),
      });
    }
    out.push({
      stack: s.stack, service: s.spec.name, image: `${s.spec.image.name}:${s.spec.image.tag}`, replicas: s.spec.replicas,
      specHash: s.specHash, ready: instances.filter((x) => x.healthy).length, instances,
    });
  }
  return out;
}

const STACK_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Stack names become part of jail names (`stack.service.N`), so they may not contain '.'. */
export function checkStackName(v: string): string {
  if (!STACK_RE.test(v)) {
    throw new UserError(`invalid stack name ${JSON.stringify(v)}`, 'use 1-63 lowercase letters, digits, "_" or "-", starting with a letter or digit (a stack is named after its file without .yml, or by --name)');
  }
  return v;
}
