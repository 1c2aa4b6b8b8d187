/**
 * The cluster scheduler: a pure function from (hosts, desired services, current placements)
 * to new placements, the plan that gets there, what could not be placed and why, and one
 * sentence per decision. No I/O, no clock, no randomness: the same input, in any order,
 * gives the same output. The algorithm and its guarantees are in ./README.md.
 */
import { byFreeRoom, fits, HostOrder, put, shortOf } from './scheduler-hosts.js';
import { buildModel, byName, cmpPlacement, cmpStr, hostMatches, missingLabel, type HostSlot, type Model, type Replica, type Svc } from './scheduler-model.js';
import { causeText, doubledNote, rid, spreadNote, stopText, unplacedReason, type PlainStop } from './scheduler-text.js';
import type { MoveReason, Placement, Plan, SchedulerInput, SchedulerResult, Stop, Unplaced } from './scheduler-types.js';

export type * from './scheduler-types.js';
export { SchedulerInputError } from './scheduler-model.js';

interface Said { service: string; replica: number; host: string; text: string }

export function schedule(input: SchedulerInput): SchedulerResult {
  const m = buildModel(input);
  const stops: Stop[] = [];
  const said: Said[] = [];
  const stop = (p: Placement, reason: PlainStop, extra: string): void => {
    stops.push({ service: p.service, replica: p.replica, host: p.host, reason });
    said.push({ ...p, text: stopText(p.service, p.replica, p.host, reason, extra) });
  };

  // 1. Current placements: stop what is no longer wanted; keep what may stay, within capacity.
  const replicas = readCurrent(m, stop);
  keepWithinCapacity(m, replicas);

  // 2. Replicas without a host (new, or off a host they may not stay on), lowest index first
  //    across services, so that under shortage every service gets its first replicas first.
  const order = new HostOrder(m.hosts);
  const pending = replicas.filter((r) => !r.host).sort((a, b) => a.index - b.index || byName(a.svc, b.svc));
  for (const r of pending) tryPlace(order, r);

  // 3. Spread: move extra replicas off shared hosts while a host without one has room. Each
  //    move frees room, so retry the unplaced and repeat until nothing changes.
  while (repairSpread(m, order)) for (const r of pending) if (!r.host) tryPlace(order, r);

  return result(replicas, stops, said, order);
}

/** "place 3, move 1, stop 0, keep 5, unplaced 0": for logs and tests. */
export function summarize(r: SchedulerResult): string {
  const { place, move, stop, keep } = r.plan;
  return `place ${place.length}, move ${move.length}, stop ${stop.length}, keep ${keep.length}, unplaced ${r.unplaced.length}`;
}

/** One Replica per desired replica; current placements of unwanted replicas are stopped. */
function readCurrent(m: Model, stop: (p: Placement, reason: PlainStop, extra: string) => void): Replica[] {
  const slots = new Map<Svc, (Replica | undefined)[]>(m.svcs.map((s) => [s, new Array<Replica | undefined>(s.replicas)]));
  const cur = m.current;
  for (let i = 0; i < cur.length;) {
    let j = i + 1;
    while (j < cur.length && cur[j]!.service === cur[i]!.service && cur[j]!.replica === cur[i]!.replica) j++;
    const { service, replica } = cur[i]!;
    const svc = m.svcByName.get(service);
    if (!svc || replica >= svc.replicas) {
      for (let n = i; n < j; n++) stop(cur[n]!, svc ? 'scaled-down' : 'service-removed', String(svc?.replicas));
      i = j;
      continue;
    }
    // one placement per replica: the first (by host name) on a host it may stay on
    let k = i;
    while (k < j && leaveReason(m, svc, cur[k]!.host) !== null) k++;
    if (k === j) k = i;
    const from = cur[k]!.host;
    for (let n = i; n < j; n++) if (n !== k) stop(cur[n]!, 'duplicate', `the copy on ${from} counts`);
    const cause = leaveReason(m, svc, from);
    const h = m.hostByName.get(from);
    slots.get(svc)![replica] = {
      svc, index: replica, from, host: null, cause,
      causeDetail: cause === 'labels' ? missingLabel(svc, h!) : '', note: '',
    };
    i = j;
  }
  const out: Replica[] = [];
  for (const [svc, rs] of slots) {
    for (let index = 0; index < rs.length; index++) {
      out.push(rs[index] ?? { svc, index, from: null, host: null, cause: null, causeDetail: '', note: '' });
    }
  }
  return out;
}

/** Why a replica of `svc` may not stay on `host`; null if it may. */
function leaveReason(m: Model, svc: Svc, host: string): MoveReason | null {
  const h = m.hostByName.get(host);
  if (!h) return 'host-unknown';
  if (h.state === 'down') return 'host-down';
  if (h.state === 'draining') return 'host-draining';
  if (svc.hostLabels.length > 0 && !hostMatches(svc, h)) return 'labels';
  return null;
}

/**
 * Puts every replica that may stay back on its host, while the host has room: lowest
 * replica index first, then service name. The rest must move ("over capacity").
 */
function keepWithinCapacity(m: Model, replicas: Replica[]): void {
  const stay = new Map<HostSlot, Replica[]>();
  for (const r of replicas) {
    if (r.from === null || r.cause !== null) continue;
    const h = m.hostByName.get(r.from)!;
    const here = stay.get(h);
    if (here) here.push(r);
    else stay.set(h, [r]);
  }
  for (const h of m.hosts) {
    const rs = stay.get(h);
    if (!rs) continue;
    rs.sort((a, b) => a.index - b.index || byName(a.svc, b.svc));
    for (const r of rs) {
      if (fits(h, r.svc)) put(r, h);
      else { r.cause = 'over-capacity'; r.causeDetail = `short of ${shortOf(h, r.svc).join(' and ')}`; }
    }
  }
}

/**
 * The most free ready host without a replica of the service; failing that, doubling up on
 * the ready host with the fewest of its replicas (then the most free room).
 */
function tryPlace(order: HostOrder, r: Replica): boolean {
  const s = r.svc;
  const h = order.firstWithout(s);
  if (h) {
    order.assign(r, h);
    r.note = spreadNote(s);
    return true;
  }
  let best: HostSlot | null = null;
  let bestN = Infinity;
  for (const [c, rs] of s.onHost) {
    if (!c.ready || !fits(c, s) || !hostMatches(s, c)) continue;
    if (rs.length < bestN || (rs.length === bestN && byFreeRoom(c, best!) < 0)) { best = c; bestN = rs.length; }
  }
  if (!best) return false;
  order.assign(r, best);
  r.note = doubledNote(s, bestN);
  return true;
}

/**
 * One pass over shared hosts; true if anything moved. What costs no extra move goes first
 * (a replica that is new here, or already on its way from another host); of the rest, the
 * lowest index stays and the highest moves.
 */
function repairSpread(m: Model, order: HostOrder): boolean {
  let moved = false;
  for (const s of m.svcs) {
    const crowded = [...s.onHost].filter(([, rs]) => rs.length > 1).sort((a, b) => byName(a[0], b[0]));
    each: for (const [h, rs] of crowded) {
      const stays = (r: Replica): number => (r.from === h.name ? 0 : 1);
      const ranked = [...rs].sort((a, b) => stays(a) - stays(b) || a.index - b.index);
      for (const r of ranked.slice(1).reverse()) {
        const t = order.firstWithout(s);
        if (!t) break each;
        order.unassign(r);
        order.assign(r, t);
        if (r.from === h.name && r.cause === null) { r.cause = 'spread'; r.causeDetail = rid(s.name, ranked[0]!.index); }
        r.note = spreadNote(s);
        moved = true;
      }
    }
  }
  return moved;
}

function result(replicas: Replica[], stops: Stop[], said: Said[], order: HostOrder): SchedulerResult {
  const plan: Plan = { place: [], move: [], stop: stops, keep: [] };
  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  const why = new Map<Svc, ReturnType<typeof unplacedReason>>();
  for (const r of replicas) { // already in order: service name, then index
    const service = r.svc.name;
    const replica = r.index;
    if (r.host) {
      const p = { service, replica, host: r.host.name };
      placements.push(p);
      if (r.from === p.host) {
        plan.keep.push(p);
        continue;
      }
      const who = rid(service, replica);
      if (r.from === null) {
        plan.place.push(p);
        said.push({ ...p, text: `${who}: placed on ${p.host} (${r.note})` });
      } else {
        plan.move.push({ service, replica, from: r.from, to: p.host, reason: r.cause! });
        said.push({ ...p, text: `${who}: ${causeText(r)}; moved to ${p.host} (${r.note})` });
      }
      continue;
    }
    const who = rid(service, replica);
    if (!why.has(r.svc)) why.set(r.svc, unplacedReason(r.svc, order));
    const { code, reason } = why.get(r.svc)!;
    unplaced.push({ service, replica, code, reason });
    if (r.from !== null) {
      stops.push({ service, replica, host: r.from, reason: r.cause! });
      said.push({ service, replica, host: r.from, text: `${who}: ${causeText(r)}; stopped, not placed: ${reason}` });
    } else {
      said.push({ service, replica, host: '', text: `${who}: not placed: ${reason}` });
    }
  }
  stops.sort(cmpPlacement);
  said.sort((a, b) => cmpPlacement(a, b) || cmpStr(a.text, b.text));
  return { placements, plan, unplaced, decisions: said.map((s) => s.text) };
}
