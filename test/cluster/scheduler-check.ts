/**
 * The scheduler's guarantees, checked from the outside: given an input and a result, the
 * list of broken rules (empty when all hold). Written independently of the scheduler's
 * internals, plainly and slowly, so that the two do not share a mistake.
 */
import type { Host, Placement, SchedulerInput, SchedulerResult, ServiceDemand } from '../../src/cluster/scheduler.js';

const key = (p: { service: string; replica: number }): string => `${p.service}#${p.replica}`;
const milli = (c: number): number => Math.round(c * 1000);

interface Room { mem: number; milli: number; jails: number; disk: number }

function roomOf(h: Host, on: Placement[], S: Map<string, ServiceDemand>): Room {
  const r = { mem: h.capacity.memoryBytes, milli: milli(h.capacity.cpus), jails: h.capacity.jails, disk: h.capacity.diskBytes ?? Infinity };
  for (const p of on) {
    const s = S.get(p.service)!;
    r.disk -= s.resources.diskBytes ?? 0;
    r.mem -= s.resources.memoryBytes;
    r.milli -= milli(s.resources.cpus);
    r.jails -= 1;
  }
  return r;
}

const fitsIn = (r: Room, s: ServiceDemand): boolean => r.mem >= s.resources.memoryBytes && r.milli >= milli(s.resources.cpus) && r.jails >= 1 && r.disk >= (s.resources.diskBytes ?? 0);
const matches = (s: ServiceDemand, h: Host): boolean => Object.entries(s.hostLabels ?? {}).every(([k, v]) => h.labels?.[k] === v);

export function violations(input: SchedulerInput, r: SchedulerResult): string[] {
  const v: string[] = [];
  const H = new Map(input.hosts.map((h) => [h.name, h]));
  const S = new Map(input.services.map((s) => [s.name, s]));
  const desired = (p: { service: string; replica: number }): boolean => p.replica < (S.get(p.service)?.replicas ?? 0);
  const current = [...new Map(input.current.map((p) => [`${key(p)}@${p.host}`, p])).values()];
  const isCurrent = new Set(current.map((p) => `${key(p)}@${p.host}`));

  // every desired replica is placed once or unplaced with a reason; nothing else is placed
  const placed = new Map<string, Placement>();
  for (const p of r.placements) {
    if (placed.has(key(p))) v.push(`${key(p)} placed twice`);
    if (!desired(p)) v.push(`${key(p)} placed but not desired`);
    placed.set(key(p), p);
  }
  const unplaced = new Set<string>();
  for (const u of r.unplaced) {
    if (placed.has(key(u))) v.push(`${key(u)} both placed and unplaced`);
    if (!u.reason || !u.code) v.push(`${key(u)} unplaced without a reason`);
    unplaced.add(key(u));
  }
  for (const s of input.services) {
    for (let i = 0; i < s.replicas; i++) {
      if (!placed.has(`${s.name}#${i}`) && !unplaced.has(`${s.name}#${i}`)) v.push(`${s.name}#${i} neither placed nor unplaced`);
    }
  }

  // hosts: ready, or cordoned for a kept placement; labels; capacity
  const onHost = new Map<string, Placement[]>();
  for (const p of r.placements) {
    const h = H.get(p.host);
    if (!h) { v.push(`${key(p)} on unknown host ${p.host}`); continue; }
    if (h.state === 'cordoned' && !isCurrent.has(`${key(p)}@${p.host}`)) v.push(`${key(p)} newly placed on cordoned ${h.name}`);
    if (h.state === 'down' || h.state === 'draining') v.push(`${key(p)} on ${h.state} host ${h.name}`);
    if (!matches(S.get(p.service)!, h)) v.push(`${key(p)} on ${h.name}, which lacks its labels`);
    onHost.set(p.host, [...(onHost.get(p.host) ?? []), p]);
  }
  const room = new Map<string, Room>();
  for (const h of input.hosts) {
    const rm = roomOf(h, onHost.get(h.name) ?? [], S);
    room.set(h.name, rm);
    if (rm.mem < 0 || rm.milli < 0 || rm.jails < 0 || rm.disk < 0) v.push(`host ${h.name} over capacity: ${JSON.stringify(rm)}`);
  }
  const ready = input.hosts.filter((h) => h.state === 'ready');

  // spread: two on one host only while no ready host without one has room
  for (const s of input.services) {
    const n = new Map<string, number>();
    for (const p of r.placements) if (p.service === s.name) n.set(p.host, (n.get(p.host) ?? 0) + 1);
    if (![...n.values()].some((c) => c > 1)) continue;
    for (const h of ready) {
      if (!n.has(h.name) && matches(s, h) && fitsIn(room.get(h.name)!, s)) v.push(`${s.name} doubled up while ${h.name} lacks it and has room`);
    }
  }
  // an unplaced replica fits nowhere
  for (const u of r.unplaced) {
    const s = S.get(u.service)!;
    for (const h of ready) if (matches(s, h) && fitsIn(room.get(h.name)!, s)) v.push(`${key(u)} unplaced but fits on ${h.name}`);
  }

  // the plan: every current placement kept, moved or stopped, once; every new one kept, moved or placed
  const fromPlan = [
    ...r.plan.keep.map((p) => `${key(p)}@${p.host}`),
    ...r.plan.move.map((m) => `${key(m)}@${m.from}`),
    ...r.plan.stop.map((s) => `${key(s)}@${s.host}`),
  ].sort();
  const wantFrom = [...isCurrent].sort();
  if (fromPlan.join() !== wantFrom.join()) v.push(`plan does not account for current: ${fromPlan.join()} vs ${wantFrom.join()}`);
  const toPlan = [
    ...r.plan.keep.map((p) => `${key(p)}@${p.host}`),
    ...r.plan.move.map((m) => `${key(m)}@${m.to}`),
    ...r.plan.place.map((p) => `${key(p)}@${p.host}`),
  ].sort();
  const wantTo = r.placements.map((p) => `${key(p)}@${p.host}`).sort();
  if (toPlan.join() !== wantTo.join()) v.push(`plan does not produce placements: ${toPlan.join()} vs ${wantTo.join()}`);

  // every move and stop has a reason that the input bears out
  const keepable = (p: Placement): boolean => {
    const h = H.get(p.host);
    return desired(p) && !!h && (h.state === 'ready' || h.state === 'cordoned') && matches(S.get(p.service)!, h);
  };
  const why = (p: Placement, reason: string): string | null => {
    const h = H.get(p.host);
    const s = S.get(p.service);
    switch (reason) {
      case 'service-removed': return s ? 'service exists' : null;
      case 'scaled-down': return s && p.replica >= s.replicas ? null : 'replica still desired';
      case 'duplicate': return current.some((c) => key(c) === key(p) && c.host !== p.host) ? null : 'no other copy';
      case 'host-down': return h?.state === 'down' ? null : 'host not down';
      case 'host-draining': return h?.state === 'draining' ? null : 'host not draining';
      case 'host-unknown': return h ? 'host known' : null;
      case 'labels': return h && !matches(s!, h) ? null : 'host has the labels';
      case 'over-capacity': {
        const rm = roomOf(h!, current.filter((c) => c.host === p.host && keepable(c)), S);
        return rm.mem < 0 || rm.milli < 0 || rm.jails < 0 || rm.disk < 0 ? null : 'host was within capacity';
      }
      case 'spread': {
        const others = (ps: Placement[]): boolean => ps.some((c) => c.service === p.service && c.host === p.host && c.replica !== p.replica && desired(c));
        return others(current) || others(r.placements) ? null : 'no other replica on that host';
      }
      default: return `unknown reason ${reason}`;
    }
  };
  for (const m of r.plan.move) {
    const w = why({ ...m, host: m.from }, m.reason);
    if (w) v.push(`${key(m)} moved ${m.from}->${m.to} for ${m.reason}, but ${w}`);
  }
  for (const s of r.plan.stop) {
    const w = why(s, s.reason);
    if (w) v.push(`${key(s)} stopped on ${s.host} for ${s.reason}, but ${w}`);
    const plain = s.reason === 'service-removed' || s.reason === 'scaled-down' || s.reason === 'duplicate';
    if (!plain && !unplaced.has(key(s))) v.push(`${key(s)} stopped for ${s.reason} but not reported unplaced`);
  }
  // one sentence per change: each place, move and stop, and each unplaced replica that was not running
  const stopped = new Set(r.plan.stop.map(key));
  const changes = r.plan.place.length + r.plan.move.length + r.plan.stop.length + r.unplaced.filter((u) => !stopped.has(key(u))).length;
  if (r.decisions.length !== changes) v.push(`${r.decisions.length} decisions for ${changes} changes`);
  return v;
}
