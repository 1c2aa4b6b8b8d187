/**
 * Free room on hosts, and the ready hosts kept sorted by it: most free memory first, then
 * cpus, then jail slots, then disk, then name. Picking "the most free ready host without service S"
 * walks this list from the top and skips the few hosts that hold S, so a placement costs
 * about O(replicas of S + log hosts), not O(hosts). Memory is the first key, so the walk
 * stops at the first host with too little memory: nothing after it has more.
 */
import { byName, hostMatches, type HostSlot, type Replica, type Svc } from './scheduler-model.js';

export function byFreeRoom(a: HostSlot, b: HostSlot): number {
  return b.freeMem - a.freeMem || b.freeMilli - a.freeMilli || b.freeJails - a.freeJails || cmpDisk(a, b) || byName(a, b);
}

/** More free disk first (compared, not subtracted: UNCOUNTED_DISK minus a small number is not exact). */
function cmpDisk(a: HostSlot, b: HostSlot): number {
  return a.freeDisk > b.freeDisk ? -1 : a.freeDisk < b.freeDisk ? 1 : 0;
}

export function fits(h: HostSlot, s: Svc): boolean {
  return h.freeMem >= s.mem && h.freeMilli >= s.milli && h.freeJails >= 1 && h.freeDisk >= s.disk;
}

/** Which resources `h` lacks for one more replica of `s`: "memory", "cpus", "jail slots", "disk". */
export function shortOf(h: HostSlot, s: Svc): string[] {
  const short: string[] = [];
  if (h.freeMem < s.mem) short.push('memory');
  if (h.freeMilli < s.milli) short.push('cpus');
  if (h.freeJails < 1) short.push('jail slots');
  if (h.freeDisk < s.disk) short.push('disk');
  return short;
}

export class HostOrder {
  /** Ready hosts, sorted by `byFreeRoom`. Read it; change it only through `adjust`. */
  readonly list: HostSlot[];

  constructor(hosts: readonly HostSlot[]) {
    this.list = hosts.filter((h) => h.ready).sort(byFreeRoom);
  }

  /** Runs `change` (which alters h's free room) and keeps the list sorted. */
  adjust(h: HostSlot, change: () => void): void {
    if (!h.ready) return change();
    const i = this.lowerBound(h);
    if (this.list[i] !== h) throw new Error(`scheduler bug: host ${h.name} is not where its free room says`);
    this.list.splice(i, 1);
    change();
    this.list.splice(this.lowerBound(h), 0, h);
  }

  /** The first index whose host sorts at or after `h`. */
  private lowerBound(h: HostSlot): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byFreeRoom(this.list[mid]!, h) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The most free ready host that `s` may use, without a replica of `s`, with room for one. */
  firstWithout(s: Svc): HostSlot | null {
    if (s.onHost.size >= s.eligible && readyHolding(s) >= s.eligible) return null; // every host it may use has one
    for (const h of this.list) {
      if (h.freeMem < s.mem) return null;
      if (!s.onHost.has(h) && fits(h, s) && hostMatches(s, h)) return h;
    }
    return null;
  }

  /** The most free ready host that `s` may use, room or not (for messages). */
  firstMatching(s: Svc): HostSlot | null {
    if (s.hostLabels.length === 0) return this.list[0] ?? null;
    return this.list.find((h) => hostMatches(s, h)) ?? null;
  }

  /** Puts r on h. */
  assign(r: Replica, h: HostSlot): void {
    this.adjust(h, () => put(r, h));
  }

  /** Takes r off its host. */
  unassign(r: Replica): void {
    const h = r.host;
    if (h) this.adjust(h, () => take(r));
  }
}

/** Puts r on h, without a HostOrder (before one is built). */
export function put(r: Replica, h: HostSlot): void {
  const s = r.svc;
  h.freeMem -= s.mem;
  h.freeMilli -= s.milli;
  h.freeJails -= 1;
  h.freeDisk -= s.disk;
  r.host = h;
  const here = s.onHost.get(h);
  if (here) here.push(r);
  else s.onHost.set(h, [r]);
}

function take(r: Replica): void {
  const h = r.host!;
  const s = r.svc;
  h.freeMem += s.mem;
  h.freeMilli += s.milli;
  h.freeJails += 1;
  h.freeDisk += s.disk;
  r.host = null;
  const here = s.onHost.get(h)!;
  here.splice(here.indexOf(r), 1);
  if (here.length === 0) s.onHost.delete(h);
}

/** How many ready hosts `s` may use already hold one of its replicas. */
function readyHolding(s: Svc): number {
  let n = 0;
  for (const h of s.onHost.keys()) if (h.ready && (s.hostLabels.length === 0 || hostMatches(s, h))) n++;
  return n;
}
