/**
 * Rollout records (key `rollouts/<stack>/<service>`, K.rollout): the service's rollout in
 * progress or its last one, with per-replica progress, the events a CLI shows as they come
 * and a bounded history. Pure: what `apply` and `rollout undo` write, and the history rules.
 * The leader moves a rollout on (cluster/rollout-plan.ts); the record makes it observable.
 *
 *   apply (spec hash changes) ──▶ progressing ──▶ complete
 *                                     │
 *                                     ├─ deadline / error rate ──▶ rolled-back (the leader
 *                                     │     writes the service back to `from.spec`)
 *                                     ├─ rollout undo ──▶ undone (the same, asked for)
 *                                     └─ another apply ──▶ superseded (in the history; the
 *                                           new record keeps `from`: the last spec known good)
 */
import type { ServiceRecord } from './model.js';
import { DEPLOY_DEFAULTS, type DeploySpec, type ServiceSpec } from '../spec/types.js';
import { K } from './keys.js';
import type { TxnWrite } from './store.js';
import { UserError } from '../sys/errors.js';

export type RolloutState = 'progressing' | 'complete' | 'rolled-back' | 'undone';
export type RolloutOutcome = 'complete' | 'rolled-back' | 'undone' | 'superseded';

/** A spec as a rollout names it: its hash and image (`site:v2`). */
export interface RolloutSpecRef {
  specHash: string;
  image: string;
}

/** One replica's progress (surge replicas are the indices >= replicas). */
export interface RolloutReplica {
  replica: number;
  jail: string;
  host: string | null;
  /** The spec it is assigned. */
  specHash: string;
  surge: boolean;
  /** Healthy, and (published) in rotation in every live host's HAProxy. */
  inRotation: boolean;
  /** Live hosts whose HAProxy does not have it in rotation (published services). */
  notIn: string[];
  /** Its placement carries drain: HAProxy gives it no new requests. */
  draining: boolean;
  /** ISO: when its drain began (an old replica being taken out). */
  drainingSince?: string;
  /** ISO: when it was assigned the rollout's target spec (its own deadline starts there). */
  assignedAt?: string;
  /** HAProxy's counters summed over the hosts when it got the target spec (error rate is counted from there). */
  baseline?: { requests: number; errors: number };
}

export interface RolloutEvent { at: string; text: string }

export interface RolloutHistoryEntry {
  startedAt: string;
  endedAt: string;
  from: RolloutSpecRef | null;
  to: RolloutSpecRef;
  outcome: RolloutOutcome;
  reason: string | null;
}

export interface RolloutRecord {
  stack: string;
  service: string;
  state: RolloutState;
  /** The spec rolled from, in full (what a rollback restores); null when unknown (a service older than rollouts). */
  from: (RolloutSpecRef & { spec: ServiceSpec }) | null;
  to: RolloutSpecRef;
  startedAt: string;
  endedAt: string | null;
  /** Why it ended other than complete: one sentence. */
  reason: string | null;
  replicas: RolloutReplica[];
  /** What happened, oldest first (at most MAX_EVENTS). */
  events: RolloutEvent[];
  /** Ended rollouts, newest first (at most MAX_HISTORY). */
  history: RolloutHistoryEntry[];
}

export const MAX_HISTORY = 10;
export const MAX_EVENTS = 60;

/** A spec's deploy settings; a record written before `deploy:` existed has none: the defaults. */
export const deployOf = (spec: ServiceSpec): DeploySpec => ({ ...DEPLOY_DEFAULTS, ...spec.deploy });

export const imageOf = (spec: ServiceSpec): string => `${spec.image.name}:${spec.image.tag}`;
export const refOf = (r: ServiceRecord): RolloutSpecRef => ({ specHash: r.specHash, image: imageOf(r.spec) });

/** The history with `r` ended as `outcome` in front (bounded). */
export function historyWith(r: RolloutRecord, outcome: RolloutOutcome, endedAt: string, reason: string | null): RolloutHistoryEntry[] {
  const e: RolloutHistoryEntry = { startedAt: r.startedAt, endedAt, from: r.from ? { specHash: r.from.specHash, image: r.from.image } : null, to: r.to, outcome, reason };
  return [e, ...r.history].slice(0, MAX_HISTORY);
}

/** The events with `texts` added at `at` (bounded: the oldest go). */
export function eventsWith(events: readonly RolloutEvent[], at: string, texts: readonly string[]): RolloutEvent[] {
  if (texts.length === 0) return [...events];
  return [...events, ...texts.map((text) => ({ at, text }))].slice(-MAX_EVENTS);
}

/**
 * A new rollout from `prev` (the service as it is) to `next`, over the last record `last`.
 * A rollout still in progress is superseded: the new one keeps its `from` (the last spec that
 * was complete), unless the new target is that spec itself.
 */
export function startRollout(prev: ServiceRecord, next: ServiceRecord, last: RolloutRecord | undefined, at: string, first: string): RolloutRecord {
  let from: RolloutRecord['from'] = { ...refOf(prev), spec: prev.spec };
  let history = last?.history ?? [];
  if (last) {
    if (last.state === 'progressing') {
      history = historyWith(last, 'superseded', at, `superseded by spec ${next.specHash.slice(0, 8)} (${imageOf(next.spec)})`);
      if (last.from && last.from.specHash !== next.specHash) from = last.from;
    }
  }
  return {
    stack: next.stack, service: next.spec.name, state: 'progressing', from, to: refOf(next), startedAt: at, endedAt: null, reason: null,
    replicas: [], events: [{ at, text: first }], history,
  };
}

/** The rollout writes of `apply`: a new record for every service whose spec hash changes. */
export function rolloutStartWrites(current: readonly ServiceRecord[], next: readonly ServiceRecord[], last: ReadonlyMap<string, RolloutRecord>, at: string): TxnWrite[] {
  const cur = new Map(current.map((r) => [r.spec.name, r]));
  const writes: TxnWrite[] = [];
  for (const n of next) {
    const p = cur.get(n.spec.name);
    if (!p || p.specHash === n.specHash) continue;
    const r = startRollout(p, n, last.get(n.spec.name), at, `rollout to spec ${n.specHash.slice(0, 8)} (${imageOf(n.spec)}) started from spec ${p.specHash.slice(0, 8)} (${imageOf(p.spec)})`);
    writes.push({ put: K.rollout(n.stack, n.spec.name), value: JSON.stringify(r) });
  }
  return writes;
}

/**
 * `rollout undo`: back to the previous spec. A rollout in progress ends as undone and the
 * leader takes the service back (as for a rollback); a finished one starts a new rollout to
 * the spec it came from. Refused when there is no previous spec.
 */
export function undoWrites(svc: ServiceRecord, r: RolloutRecord | undefined, at: string): { writes: TxnWrite[]; record: RolloutRecord; restored: ServiceRecord } {
  const id = `${svc.stack}/${svc.spec.name}`;
  if (!r) throw new UserError(`${id} has had no rollout: there is no previous spec to go back to`, 'change the stack file and apply it instead');
  if (!r.from) throw new UserError(`${id}: the spec before ${r.to.specHash.slice(0, 8)} is not known (the service is older than rollout records)`, 'apply the stack file with the spec you want instead');
  const key = K.rollout(svc.stack, svc.spec.name);
  if (r.state === 'progressing' && r.to.specHash === svc.specHash) {
    const reason = `${svc.spec.name}: undone: back to spec ${r.from.specHash.slice(0, 8)} (${r.from.image})`;
    const restored: ServiceRecord = { stack: svc.stack, spec: r.from.spec, specHash: r.from.specHash };
    const record: RolloutRecord = { ...r, state: 'undone', endedAt: at, reason, events: eventsWith(r.events, at, [reason]), history: historyWith(r, 'undone', at, reason) };
    return { writes: [{ put: K.service(svc.stack, svc.spec.name), value: JSON.stringify(restored) }, { put: key, value: JSON.stringify(record) }], record, restored };
  }
  if (r.from.specHash === svc.specHash) {
    throw new UserError(`${id} already runs spec ${svc.specHash.slice(0, 8)} (${imageOf(svc.spec)}), the one before its last rollout`, 'see cellblock rollout history to choose a spec, and apply a stack file with it');
  }
  const restored: ServiceRecord = { stack: svc.stack, spec: r.from.spec, specHash: r.from.specHash };
  // a finished rollout: undo is a rollout of its own, back to the spec it came from
  const record = startRollout(svc, restored, r, at, `undo: rollout to spec ${restored.specHash.slice(0, 8)} (${imageOf(restored.spec)}) started from spec ${svc.specHash.slice(0, 8)} (${imageOf(svc.spec)})`);
  return { writes: [{ put: K.service(svc.stack, svc.spec.name), value: JSON.stringify(restored) }, { put: key, value: JSON.stringify(record) }], record, restored };
}
