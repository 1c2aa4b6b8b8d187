/**
 * The leader's pass as a pure function: desired services, current placements and observed
 * replicas in; the assignments every host must run out, with the scheduler's result and one
 * sentence per rolling-update decision. No I/O, no clock.
 *
 * Where replicas go is the scheduler's (scheduler.ts; service key `<stack>/<service>`). What
 * spec they run is decided here: a replica that is new, moved, or not healthy anyway gets the
 * service's current spec at once; a healthy replica that stays on its host is switched to a
 * new spec one at a time per service (maxUnavailable 1), and only while every other replica of
 * the service is observed healthy on the spec it is assigned.
 */
import { replicaJailName, type Assignment, type ObservedReplica, type ServiceRecord } from './model.js';
import { schedule } from './scheduler.js';
import { DEFAULT_DISK } from '../jail/model.js';
import { cmpStr } from './scheduler-model.js';
import type { Host, Placement, SchedulerResult, ServiceDemand } from './scheduler-types.js';

export interface LeaderPlanInput {
  hosts: Host[];
  services: ServiceRecord[];
  /** What placements/<host> hold now, by host. */
  current: Map<string, Assignment[]>;
  observed: ObservedReplica[];
  /** Disk of a replica whose service sets none (the cluster's `--default-disk`); absent: DEFAULT_DISK. */
  defaultDiskBytes?: number;
}

export interface LeaderPlan {
  /** Every host of `hosts` (possibly []), assignments sorted by jail name. */
  byHost: Map<string, Assignment[]>;
  result: SchedulerResult;
  /** One sentence per rolling-update switch or hold. */
  rolling: string[];
}

/** The scheduler's name for a service: unique across stacks. */
export const serviceKey = (stack: string, service: string): string => `${stack}/${service}`;

/** The short form of a spec hash used in sentences. */
export const shortHash = (h: string): string => h.slice(0, 8);

/** One placed replica while its spec is decided. */
interface Slot {
  replica: number;
  host: string;
  jail: string;
  /** The current assignment when the replica stays on its host, else undefined (new or moved). */
  kept: Assignment | undefined;
  /** What it is assigned this pass (decided below). */
  out: Assignment;
}

export function planPlacements(input: LeaderPlanInput): LeaderPlan {
  const records = [...input.services].sort((a, b) => cmpStr(serviceKey(a.stack, a.spec.name), serviceKey(b.stack, b.spec.name)));
  const recordByKey = new Map(records.map((r) => [serviceKey(r.stack, r.spec.name), withDisk(r, input.defaultDiskBytes)]));
  const demands: ServiceDemand[] = records.map((r) => ({
    name: serviceKey(r.stack, r.spec.name),
    replicas: r.spec.replicas,
    resources: { memoryBytes: r.spec.memoryBytes ?? 0, cpus: r.spec.cpus ?? 0, diskBytes: r.spec.diskBytes ?? input.defaultDiskBytes ?? DEFAULT_DISK },
  }));

  const currentAt = new Map<string, Assignment>();
  const placements: Placement[] = [];
  for (const [host, as] of input.current) {
    for (const a of as) {
      const service = serviceKey(a.stack, a.service);
      const at = slotKey(host, service, a.replica);
      if (currentAt.has(at)) continue;
      currentAt.set(at, a);
      placements.push({ service, replica: a.replica, host });
    }
  }

  const result = schedule({ hosts: input.hosts, services: demands, current: placements });

  const observed = new Map<string, ObservedReplica>();
  for (const o of input.observed) observed.set(`${o.host}\0${o.jail}`, o);
  const healthyAs = (host: string, a: Assignment): boolean => {
    const o = observed.get(`${host}\0${a.jail}`);
    return o !== undefined && o.healthy && o.specHash === a.specHash;
  };

  const kept = new Set(result.plan.keep.map((p) => slotKey(p.host, p.service, p.replica)));
  const bySvc = new Map<string, Slot[]>();
  for (const p of result.placements) { // sorted by service, then replica
    const rec = recordByKey.get(p.service)!;
    const jail = replicaJailName(rec.stack, rec.spec.name, p.replica);
    const at = slotKey(p.host, p.service, p.replica);
    const slot: Slot = { replica: p.replica, host: p.host, jail, kept: kept.has(at) ? currentAt.get(at) : undefined, out: assignment(rec, p.replica) };
    const list = bySvc.get(p.service);
    if (list) list.push(slot);
    else bySvc.set(p.service, [slot]);
  }

  const rolling: string[] = [];
  for (const [key, slots] of bySvc) {
    const rec = recordByKey.get(key)!;
    rolling.push(...roll(rec, slots, healthyAs, result.unplaced.filter((u) => u.service === key).map((u) => u.replica)));
  }

  const byHost = new Map<string, Assignment[]>(input.hosts.map((h) => [h.name, []]));
  for (const slots of bySvc.values()) for (const s of slots) byHost.get(s.host)?.push(s.out);
  for (const list of byHost.values()) list.sort((a, b) => cmpStr(a.jail, b.jail));
  return { byHost, result, rolling };
}

/**
 * Decides the spec of each placed replica of one service (sets `out`), returning the
 * sentences. `unplaced` replicas count as not healthy: they hold the rollout too.
 */
function roll(rec: ServiceRecord, slots: Slot[], healthyAs: (host: string, a: Assignment) => boolean, unplaced: number[]): string[] {
  const said: string[] = [];
  const id = serviceKey(rec.stack, rec.spec.name);
  const to = shortHash(rec.specHash);
  // Replicas on an older spec, staying on their host. A new or moved replica already has the new spec.
  const stale = slots.filter((s) => s.kept !== undefined && s.kept.specHash !== rec.specHash);
  if (stale.length === 0) return said;

  // Not healthy anyway: switching them costs no availability.
  const held: Slot[] = [];
  for (const s of stale) {
    if (healthyAs(s.host, s.kept!)) held.push(s);
    else said.push(`${id}#${s.replica}: rolling to spec ${to} now (its replica on spec ${shortHash(s.kept!.specHash)} is not healthy)`);
  }
  for (const s of held) s.out = s.kept!;
  if (held.length === 0) return said;

  // At most one healthy replica switches per pass, and only while all the others are healthy.
  const next = held[0]!;
  const others = slots.filter((s) => s !== next);
  const waiting = others.filter((s) => !healthyAs(s.host, s.out)).map((s) => s.replica);
  waiting.push(...unplaced);
  waiting.sort((a, b) => a - b);
  if (waiting.length === 0) {
    next.out = assignment(rec, next.replica);
    said.push(`${id}#${next.replica}: rolling to spec ${to} (${healthyText(others.map((s) => s.replica))})`);
    return said;
  }
  const olds = new Set(held.map((s) => s.kept!.specHash));
  const on = olds.size === 1 ? `spec ${shortHash(next.kept!.specHash)}` : 'older specs';
  const total = slots.length + unplaced.length;
  const who = listText(waiting.map((r) => `${rec.spec.name}#${r}`));
  said.push(`${id}: ${held.length} of ${total} replicas still on ${on}; waiting for ${who} to be healthy`);
  return said;
}

function assignment(rec: ServiceRecord, replica: number): Assignment {
  return {
    stack: rec.stack,
    service: rec.spec.name,
    replica,
    jail: replicaJailName(rec.stack, rec.spec.name, replica),
    spec: rec.spec,
    specHash: rec.specHash,
  };
}

/**
 * The record whose assignments carry the cluster's default disk when the service sets none,
 * so a host creates the jail with exactly what the scheduler counted. The spec hash is the
 * service's own: a new default applies to new replicas and is no rollout.
 */
function withDisk(r: ServiceRecord, defaultDiskBytes: number | undefined): ServiceRecord {
  return r.spec.diskBytes !== undefined || defaultDiskBytes === undefined ? r : { ...r, spec: { ...r.spec, diskBytes: defaultDiskBytes } };
}

function slotKey(host: string, service: string, replica: number): string {
  return `${host}\0${service}\0${replica}`;
}

/** "no other replicas", "replica 0 healthy", "replicas 0 and 2 healthy", "replicas 0, 1 and 3 healthy" */
function healthyText(replicas: number[]): string {
  if (replicas.length === 0) return 'no other replicas';
  return `${replicas.length === 1 ? 'replica' : 'replicas'} ${listText(replicas.map(String))} healthy`;
}

function listText(xs: string[]): string {
  return xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}
