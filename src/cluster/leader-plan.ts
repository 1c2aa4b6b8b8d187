/**
 * The leader's pass as a pure function: desired services, current placements, observed
 * replicas, the rollout records and the load balancers' state in; the assignments every host
 * must run out, with the scheduler's result, one sentence per rollout decision, the rollout
 * records and service records to write, and when to look again. No I/O; time is `now`.
 *
 * Where replicas go is the scheduler's (scheduler.ts; service key `<stack>/<service>`). What
 * spec they run, and whether HAProxy drains them, is the rollout's (rollout-plan.ts): a
 * replica that is new, moved, or not healthy anyway gets the service's current spec at once;
 * healthy replicas on an older spec are replaced by `deploy` (surge, drain, maxUnavailable).
 * A rollout whose new replicas miss their deadline or fail too many requests is rolled back
 * here: the service record goes back to the previous spec (serviceWrites).
 */
import { replicaJailName, type Assignment, type ObservedReplica, type ServiceRecord } from './model.js';
import { schedule } from './scheduler.js';
import { DEFAULT_DISK } from '../jail/model.js';
import { cmpStr } from './scheduler-model.js';
import type { Host, Placement, SchedulerResult, ServiceDemand } from './scheduler-types.js';
import type { LbHostState } from '../lb/model.js';
import { eventsWith, historyWith, type RolloutRecord } from './rollout.js';
import { LbView } from './rollout-lb.js';
import { roll, rolloutCheck, rolloutDemand, type Slot } from './rollout-plan.js';

export interface LeaderPlanInput {
  hosts: Host[];
  services: ServiceRecord[];
  /** What placements/<host> hold now, by host. */
  current: Map<string, Assignment[]>;
  observed: ObservedReplica[];
  /** Disk of a replica whose service sets none (the cluster's `--default-disk`); absent: DEFAULT_DISK. */
  defaultDiskBytes?: number;
  /** The leader's clock (ms since the epoch); absent: 0 (a reader that writes nothing). */
  now?: number;
  /** rollouts/<stack>/<service>. */
  rollouts?: RolloutRecord[];
  /** lbstate/<host>: what each host's HAProxy has in rotation. */
  lbStates?: LbHostState[];
}

export interface LeaderPlan {
  /** Every host of `hosts` (possibly []), assignments sorted by jail name. */
  byHost: Map<string, Assignment[]>;
  result: SchedulerResult;
  /** One sentence per rollout decision (switch, drain, hold, rollback, completion). */
  rolling: string[];
  /** Rollout records that changed (to write). */
  rollouts: RolloutRecord[];
  /** Service records to write: a rolled-back service, back on its previous spec. */
  serviceWrites: ServiceRecord[];
  /** When a drain or a deadline ends (ms): the leader runs a pass then. */
  wakeAt: number | undefined;
}

/** The scheduler's name for a service: unique across stacks. */
export const serviceKey = (stack: string, service: string): string => `${stack}/${service}`;

/** The short form of a spec hash used in sentences. */
export const shortHash = (h: string): string => h.slice(0, 8);

export function planPlacements(input: LeaderPlanInput): LeaderPlan {
  const now = input.now ?? 0;
  const lb = new LbView(input.lbStates ?? [], input.hosts.filter((h) => h.state !== 'down').map((h) => h.name).sort(cmpStr));
  const observed = new Map<string, ObservedReplica>();
  for (const o of input.observed) observed.set(`${o.host}\0${o.jail}`, o);
  const healthyAs = (host: string, a: Assignment): boolean => {
    const o = observed.get(`${host}\0${a.jail}`);
    return o !== undefined && o.healthy && o.specHash === a.specHash;
  };

  const currentAt = new Map<string, Assignment>();
  const currentOf = new Map<string, { host: string; a: Assignment }[]>();
  const placements: Placement[] = [];
  for (const [host, as] of input.current) {
    for (const a of as) {
      const service = serviceKey(a.stack, a.service);
      const at = slotKey(host, service, a.replica);
      if (currentAt.has(at)) continue;
      currentAt.set(at, a);
      placements.push({ service, replica: a.replica, host });
      const list = currentOf.get(service);
      if (list) list.push({ host, a });
      else currentOf.set(service, [{ host, a }]);
    }
  }

  // rollbacks first: a failed rollout's service is planned on its previous spec
  const rolloutByKey = new Map((input.rollouts ?? []).map((r) => [serviceKey(r.stack, r.service), r]));
  const rolling: string[] = [];
  const serviceWrites: ServiceRecord[] = [];
  let wakeAt: number | undefined;
  const wake = (t: number | undefined) => { if (t !== undefined) wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t); };
  const records = [...input.services].sort((a, b) => cmpStr(serviceKey(a.stack, a.spec.name), serviceKey(b.stack, b.spec.name))).map((r) => {
    const key = serviceKey(r.stack, r.spec.name);
    const ro = rolloutByKey.get(key);
    const check = rolloutCheck(r, ro, currentOf.get(key) ?? [], { now, lb, healthyAs });
    wake(check.wakeAt);
    if (check.reason === undefined || !ro?.from) return r;
    const at = new Date(now).toISOString();
    rolloutByKey.set(key, { ...ro, state: 'rolled-back', endedAt: at, reason: check.reason, events: eventsWith(ro.events, at, [check.reason]), history: historyWith(ro, 'rolled-back', at, check.reason) });
    rolling.push(`${r.stack}/${check.reason}`);
    const back: ServiceRecord = { stack: r.stack, spec: ro.from.spec, specHash: ro.from.specHash };
    serviceWrites.push(back);
    return back;
  });
  const recordByKey = new Map(records.map((r) => [serviceKey(r.stack, r.spec.name), withDisk(r, input.defaultDiskBytes)]));
  const demands: ServiceDemand[] = records.map((r) => {
    const name = serviceKey(r.stack, r.spec.name);
    return {
      name, replicas: rolloutDemand(r, (currentOf.get(name) ?? []).map((c) => c.a), rolloutByKey.get(name)),
      resources: { memoryBytes: r.spec.memoryBytes ?? 0, cpus: r.spec.cpus ?? 0, diskBytes: r.spec.diskBytes ?? input.defaultDiskBytes ?? DEFAULT_DISK },
    };
  });

  const result = schedule({ hosts: input.hosts, services: demands, current: placements });

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

  const rollouts: RolloutRecord[] = [];
  const dropped = new Set<string>();
  for (const [key, slots] of bySvc) {
    const rec = recordByKey.get(key)!;
    const before = rolloutByKey.get(key);
    const r = roll(rec, slots, before, { now, lb, healthyAs, fresh: (i) => assignment(rec, i) });
    rolling.push(...r.said.map((x) => (x.startsWith(`${rec.spec.name}:`) || x.startsWith(`${rec.spec.name}#`) ? `${rec.stack}/${x}` : `${key}: ${x}`)));
    wake(r.wakeAt);
    for (const i of r.drop) dropped.add(`${key}#${i}`);
    const orig = input.rollouts?.find((x) => serviceKey(x.stack, x.service) === key);
    if (r.record && r.record !== orig) rollouts.push(r.record);
  }
  // a rolled-back service with no placement at all still gets its record written
  for (const [key, r] of rolloutByKey) {
    if (!bySvc.has(key) && r !== input.rollouts?.find((x) => serviceKey(x.stack, x.service) === key)) rollouts.push(r);
  }

  const byHost = new Map<string, Assignment[]>(input.hosts.map((h) => [h.name, []]));
  for (const [key, slots] of bySvc) for (const s of slots) if (!dropped.has(`${key}#${s.replica}`)) byHost.get(s.host)?.push(s.out);
  for (const list of byHost.values()) list.sort((a, b) => cmpStr(a.jail, b.jail));
  // the scheduler's sentences about surge replicas it placed and the rollout dropped say nothing true
  result.decisions = result.decisions.filter((d) => ![...dropped].some((k) => d.startsWith(`${k}:`)));
  return { byHost, result, rolling, rollouts, serviceWrites, wakeAt };
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
