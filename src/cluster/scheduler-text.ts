/**
 * The scheduler's sentences: one per change, logged by the leader and asserted in tests.
 *   site#2: host b is down; moved to c (most free ready host without site)
 */
import { formatSize } from '../sys/size.js';
import { fits, shortOf, type HostOrder } from './scheduler-hosts.js';
import { hostMatches, UNCOUNTED_DISK, type HostSlot, type Replica, type Svc } from './scheduler-model.js';
import type { MoveReason, StopReason, UnplacedCode } from './scheduler-types.js';

export const rid = (service: string, replica: number): string => `${service}#${replica}`;

export function cpus(milli: number): string {
  return milli === 1000 ? '1 cpu' : `${milli / 1000} cpus`;
}

function demand(s: Svc): string {
  return `${formatSize(s.mem)} memory, ${cpus(s.milli)}${s.disk > 0 ? `, ${formatSize(s.disk)} disk` : ''} and a jail slot`;
}

function room(h: HostSlot): string {
  const disk = h.cap.disk === UNCOUNTED_DISK ? '' : `, ${formatSize(Math.max(0, h.freeDisk))} disk`;
  return `${formatSize(h.freeMem)} memory, ${cpus(h.freeMilli)}, ${h.freeJails} jail slots${disk} free`;
}

export function labelsText(s: Svc): string {
  return s.hostLabels.map(([k, v]) => `${k}=${v}`).join(', ');
}

/** Why a replica of `s` fits nowhere, in the final state. */
export function unplacedReason(s: Svc, order: HostOrder): { code: UnplacedCode; reason: string } {
  if (order.list.length === 0) return { code: 'no-ready-hosts', reason: 'no host is ready' };
  const best = order.firstMatching(s);
  if (!best) return { code: 'no-matching-hosts', reason: `no ready host has the labels ${labelsText(s)}` };
  const disk = mostFreeDisk(s, order);
  if (disk && disk.freeDisk < s.disk) {
    return { code: 'no-capacity', reason: `no ready host has ${formatSize(s.disk)} of disk free; most is ${formatSize(Math.max(0, disk.freeDisk))} on ${disk.name}` };
  }
  const tail = fits(best, s) ? '' : `; most free is ${best.name} with ${room(best)}, short of ${shortOf(best, s).join(' and ')}`;
  return { code: 'no-capacity', reason: `no ready host has room for ${demand(s)}${tail}` };
}

/** The ready host `s` may use with the most free disk (first by name on a tie). */
function mostFreeDisk(s: Svc, order: HostOrder): HostSlot | undefined {
  let best: HostSlot | undefined;
  for (const h of order.list) {
    if (!hostMatches(s, h)) continue;
    if (!best || h.freeDisk > best.freeDisk || (h.freeDisk === best.freeDisk && h.name < best.name)) best = h;
  }
  return best;
}

export function causeText(r: Replica): string {
  const from = r.from ?? '?';
  switch (r.cause as MoveReason) {
    case 'host-down': return `host ${from} is down`;
    case 'host-draining': return `host ${from} is draining`;
    case 'host-unknown': return `host ${from} is not in the cluster`;
    case 'labels': return `host ${from} lacks the label ${r.causeDetail}`;
    case 'over-capacity': return `host ${from} is over capacity (${r.causeDetail})`;
    case 'spread': return `it shares host ${from} with ${r.causeDetail}`;
  }
}

/** Why `h` was chosen for a replica of `s` that had to go on a host already holding `n` of them. */
export function doubledNote(s: Svc, n: number): string {
  const why = s.eligible < s.replicas
    ? `only ${s.eligible} ready host${s.eligible === 1 ? '' : 's'}${s.hostLabels.length ? ` with ${labelsText(s)}` : ''} for ${s.replicas} replicas`
    : `no ready host without ${s.name} has room`;
  return `doubled up with ${n} other replica${n === 1 ? '' : 's'} of ${s.name}: ${why}`;
}

export const spreadNote = (s: Svc): string => `most free ready host without ${s.name}`;

export type PlainStop = Extract<StopReason, 'service-removed' | 'scaled-down' | 'duplicate'>;

export function stopText(service: string, replica: number, host: string, reason: PlainStop, extra: string): string {
  const who = rid(service, replica);
  switch (reason) {
    case 'service-removed': return `${who}: service ${service} was removed; stopped on ${host}`;
    case 'scaled-down': return `${who}: ${service} was scaled down to ${extra} replicas; stopped on ${host}`;
    case 'duplicate': return `${who}: also recorded on ${host}; stopped there (${extra})`;
  }
}
