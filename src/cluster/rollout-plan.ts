/**
 * One service's rollout, decided in the leader's pass (pure; time is the input `now`).
 *
 * The shape: while a service has replicas on an older spec ("stale"), the scheduler is asked
 * for `replicas + maxSurge` of it (rolloutDemand). The extra indices (replicas ..
 * replicas+maxSurge-1) are the surge: placed with the new spec. Each pass:
 *
 * 1. a replica that is new or moved gets the new spec at once; a stale one that is not
 *    healthy anyway is replaced at once (it costs no availability);
 * 2. "available" = replicas on the new spec that are ready (healthy in observed/ and, for a
 *    published service, in rotation in every live host's HAProxy: lbstate/) plus healthy
 *    stale ones not draining;
 * 3. while available - 1 >= replicas - maxUnavailable, one more stale replica is drained
 *    (Assignment.drain: every HAProxy sends it no new request). It stays drained for drainMs,
 *    or less once every live host's lbstate shows it out of rotation with 0 sessions; then it
 *    is replaced in place (same jail name, new spec), still drained until it is healthy, so
 *    HAProxy sends nothing to the old process being stopped;
 * 4. once no replica below `replicas` is stale, the surge replicas are drained the same way
 *    and removed (dropped from the placements); the rollout is complete when the `replicas`
 *    replicas are all ready on the new spec and no surge is left.
 *
 * A service nobody publishes has no HAProxy: "ready" is healthy in observed/, and a replica is
 * replaced (or a surge removed) without a drain. With maxSurge 0 and maxUnavailable 1 this is
 * the old one-at-a-time rolling replace.
 *
 * The deadline and the error rate (rolloutCheck) are checked before the scheduler runs; a
 * failed check makes the leader restore the previous spec, which rolls back by the same rules
 * (old replicas were never taken out before a new one was ready, so it costs nothing).
 */
import type { Assignment, ServiceRecord } from './model.js';
import { deployOf, eventsWith, historyWith, imageOf, refOf, type RolloutRecord, type RolloutReplica } from './rollout.js';
import { secondsText, type LbView } from './rollout-lb.js';

/** One placed replica while its spec is decided. */
export interface Slot {
  replica: number;
  host: string;
  jail: string;
  /** The current assignment when the replica stays on its host, else undefined (new or moved). */
  kept: Assignment | undefined;
  /** What it is assigned this pass (decided here). */
  out: Assignment;
}

export interface RollContext {
  now: number;
  lb: LbView;
  /** Observed healthy on the host, on the assignment's spec. */
  healthyAs(host: string, a: Assignment): boolean;
  /** The assignment of replica N with the service's current spec. */
  fresh(replica: number): Assignment;
}

export interface RollResult {
  /** Replicas placed by the scheduler that must not run (surge removed, or not needed). */
  drop: Set<number>;
  said: string[];
  /** The record to keep (the same object when nothing changed). */
  record: RolloutRecord | undefined;
  wakeAt: number | undefined;
}

const short = (h: string) => h.slice(0, 8);

/**
 * How many replicas the scheduler places: the surge too while anything of the service is
 * stale, or while its rollout (progressing) still has surge replicas to take out. (Replicas
 * above `replicas` with no rollout going on are a scale-down: the scheduler stops them.)
 */
export function rolloutDemand(rec: ServiceRecord, current: readonly Assignment[], record: RolloutRecord | undefined): number {
  const n = rec.spec.replicas;
  const governs = record?.state === 'progressing' && record.to.specHash === rec.specHash;
  const rolling = current.some((a) => a.specHash !== rec.specHash || (governs && a.replica >= n));
  return rolling ? n + deployOf(rec.spec).maxSurge : n;
}

/** maxUnavailable, at least 1 when there is no surge (else nothing could ever move). */
function unavailable(rec: ServiceRecord): number {
  const d = deployOf(rec.spec);
  return d.maxSurge === 0 && d.maxUnavailable === 0 ? 1 : d.maxUnavailable;
}

export function roll(rec: ServiceRecord, slots: Slot[], prev: RolloutRecord | undefined, ctx: RollContext): RollResult {
  const T = rec.specHash;
  const N = rec.spec.replicas;
  const name = rec.spec.name;
  const published = rec.spec.publish !== undefined;
  const drainMs = deployOf(rec.spec).drainMs;
  const nowIso = new Date(ctx.now).toISOString();
  const drop = new Set<number>();
  const said: string[] = [];
  let wakeAt: number | undefined;
  const wake = (t: number) => { wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t); };

  const stale = slots.filter((s) => s.kept !== undefined && s.kept.specHash !== T);
  const rolling = stale.some((s) => s.replica < N);
  if (stale.length === 0 && !(prev?.state === 'progressing' && prev.to.specHash === T)) {
    for (const s of slots) if (s.replica >= N) drop.add(s.replica);
    return { drop, said, record: prev, wakeAt };
  }

  const healthy = (s: Slot, a: Assignment) => ctx.healthyAs(s.host, a);
  const inRotation = (s: Slot) => !published || ctx.lb.notIn(s.jail).length === 0;
  const ready = (s: Slot, a: Assignment) => a.specHash === T && !a.drain && healthy(s, a) && inRotation(s);
  const before = new Map((prev?.replicas ?? []).map((e) => [e.replica, e]));
  const same = (s: Slot, e: RolloutReplica | undefined, hash: string) => e !== undefined && e.host === s.host && e.specHash === hash;
  const drainedAt = new Map<number, string>();
  const events: string[] = [];
  const announced = new Set<number>();
  const replaced = (s: Slot): Assignment => (published ? { ...ctx.fresh(s.replica), drain: true } : ctx.fresh(s.replica));

  // 1. what each slot runs, and which stale ones may be taken out
  const candidates: Slot[] = [];
  for (const s of slots) {
    if (!s.kept) {
      if (s.replica >= N && !rolling) drop.add(s.replica); // no new surge once nothing old is left
      continue; // s.out: the new spec already
    }
    s.out = s.kept;
    const surge = s.replica >= N;
    if (s.kept.specHash === T && !(surge && !rolling)) {
      // a replaced replica stays drained until healthy on the new spec
      if (s.kept.drain && healthy(s, s.kept)) s.out = withoutDrain(s.kept);
      continue;
    }
    // from here: a stale replica, or a surge replica to take out at the end
    if (!healthy(s, s.kept)) {
      if (surge) { drop.add(s.replica); continue; }
      s.out = replaced(s);
      announced.add(s.replica);
      said.push(`${name}#${s.replica}: rolling to spec ${short(T)} now (its replica on spec ${short(s.kept.specHash)} is not healthy)`);
      continue;
    }
    if (s.kept.drain) {
      const e = before.get(s.replica);
      const since = same(s, e, s.kept.specHash) && e!.drainingSince ? e!.drainingSince : nowIso;
      drainedAt.set(s.replica, since);
      const t = Date.parse(since) + drainMs;
      if (ctx.now >= t || ctx.lb.drained(s.jail)) {
        if (surge) drop.add(s.replica);
        else s.out = replaced(s);
      } else wake(t);
      continue;
    }
    candidates.push(s);
  }

  // 2. take out stale replicas (then the surge) while enough stay available
  let avail = slots.filter((s) => !drop.has(s.replica) && !s.out.drain && (s.out.specHash === T ? ready(s, s.out) : healthy(s, s.out))).length;
  const floor = N - unavailable(rec);
  const order = rolling
    ? candidates.sort((a, b) => Number(a.replica >= N) - Number(b.replica >= N) || a.replica - b.replica)
    : candidates.sort((a, b) => b.replica - a.replica);
  for (const c of order) {
    if (avail - 1 < floor) break;
    avail--;
    if (published) {
      c.out = { ...c.kept!, drain: true };
      drainedAt.set(c.replica, nowIso);
      wake(ctx.now + drainMs);
    } else if (c.replica >= N) drop.add(c.replica);
    else c.out = ctx.fresh(c.replica);
  }
  const left = order.filter((c) => c.out === c.kept && !drop.has(c.replica));
  if (rolling && left.length === order.length && left.length > 0) said.push(waitingText(rec, slots, ready, published));

  // 3. the record: per-replica progress and what changed since the last pass
  const replicas: RolloutReplica[] = [];
  const drains: string[] = [];
  for (const s of slots) {
    const e = before.get(s.replica);
    if (drop.has(s.replica)) {
      if (s.kept && e) events.push(`${name}#${s.replica}${s.replica >= N ? ' (surge)' : ''} removed from ${s.host}`);
      continue;
    }
    const a = s.out;
    const onT = a.specHash === T;
    const notIn = published ? ctx.lb.notIn(s.jail) : [];
    const up = onT ? ready(s, a) : healthy(s, a) && !a.drain && notIn.length === 0;
    const r: RolloutReplica = { replica: s.replica, jail: s.jail, host: s.host, specHash: a.specHash, surge: s.replica >= N, inRotation: up, notIn, draining: a.drain === true };
    const known = same(s, e, a.specHash);
    const since = drainedAt.get(s.replica);
    if (since !== undefined && a.drain) r.drainingSince = since;
    if (onT) {
      r.assignedAt = known && e!.assignedAt ? e!.assignedAt : nowIso;
      r.baseline = known && e!.baseline ? e!.baseline : ctx.lb.figures(s.jail);
      if (!known && !announced.has(s.replica)) events.push(s.kept ? `${name}#${s.replica} on ${s.host}: replacing with spec ${short(T)} (${imageOf(rec.spec)})` : `${name}#${s.replica}${r.surge ? ' (surge)' : ''} placed on ${s.host} with spec ${short(T)}`);
      if (up && !(known && e!.inRotation)) events.push(published ? `${name}#${s.replica} in rotation on ${ctx.lb.liveHosts.join(' ')}` : `${name}#${s.replica} healthy on ${s.host}`);
    }
    // a drain is said once per replica and host (its spec may change while it stays drained), after
    // this pass's other events: "site#3 in rotation" comes before the "draining site#0" it allowed
    if (since !== undefined && a.drain && !(e?.draining && e.host === s.host)) drains.push(`draining ${name}#${s.replica}${r.surge ? ' (surge)' : ''} on ${s.host}`);
    replicas.push(r);
  }
  events.push(...drains);

  let record = prev;
  const governs = prev !== undefined && prev.to.specHash === T;
  const converging = prev !== undefined && (prev.state === 'rolled-back' || prev.state === 'undone');
  if (!governs && !converging) record = adopted(rec, slots, prev, nowIso);
  record = { ...record!, replicas, events: eventsWith(record!.events, nowIso, events) };
  if (record.state === 'progressing' && record.to.specHash === T) {
    const done = replicas.length === N && replicas.every((r) => r.specHash === T && !r.surge && r.inRotation);
    if (done) {
      const text = `${name}: complete: ${N} replicas on spec ${short(T)} (${imageOf(rec.spec)})`;
      record = { ...record, state: 'complete', endedAt: nowIso, events: eventsWith(record.events, nowIso, [text]), history: historyWith(record, 'complete', nowIso, null) };
      events.push(text);
    }
  }
  said.push(...events);
  if (prev && JSON.stringify(prev) === JSON.stringify(record)) record = prev;
  return { drop, said, record, wakeAt };
}

/**
 * A record for a service that rolls with none that governs it (a service older than rollout
 * records, or one whose record was lost): from the stale replicas' spec when they agree on one.
 */
function adopted(rec: ServiceRecord, slots: Slot[], prev: RolloutRecord | undefined, at: string): RolloutRecord {
  const olds = new Map(slots.filter((s) => s.kept && s.kept.specHash !== rec.specHash).map((s) => [s.kept!.specHash, s.kept!.spec]));
  const only = olds.size === 1 ? [...olds][0]! : undefined;
  const history = prev ? (prev.state === 'progressing' ? historyWith(prev, 'superseded', at, `superseded by spec ${short(rec.specHash)}`) : prev.history) : [];
  return {
    stack: rec.stack, service: rec.spec.name, state: 'progressing',
    from: only ? { specHash: only[0], image: imageOf(only[1]), spec: only[1] } : null,
    to: refOf(rec), startedAt: at, endedAt: null, reason: null, replicas: [], events: [{ at, text: `rollout to spec ${short(rec.specHash)} (${imageOf(rec.spec)}) started by the leader` }], history,
  };
}

/** "site: 2 of 3 replicas still on spec 1a2b3c4d; waiting for site#3 to be healthy" */
function waitingText(rec: ServiceRecord, slots: Slot[], ready: (s: Slot, a: Assignment) => boolean, published: boolean): string {
  const T = rec.specHash;
  const N = rec.spec.replicas;
  const name = rec.spec.name;
  const olds = slots.filter((s) => s.replica < N && s.out.specHash !== T);
  const hashes = new Set(olds.map((s) => s.out.specHash));
  const on = hashes.size === 1 ? `spec ${short([...hashes][0]!)}` : 'older specs';
  const placed = new Set(slots.map((s) => s.replica));
  const want = [...slots.filter((s) => s.out.specHash === T && !ready(s, s.out)).map((s) => s.replica)];
  for (let i = 0; i < N + deployOf(rec.spec).maxSurge; i++) if (!placed.has(i)) want.push(i);
  want.sort((a, b) => a - b);
  const who = want.length ? `${listText(want.map((i) => `${name}#${i}`))} to be ${published ? 'in rotation on every host' : 'healthy'}` : 'more replicas to be available';
  return `${name}: ${olds.length} of ${N} replicas still on ${on}; waiting for ${who}`;
}

function listText(xs: string[]): string {
  return xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

function withoutDrain(a: Assignment): Assignment {
  const { drain: _d, ...rest } = a;
  return rest;
}

/**
 * The checks that roll a rollout back, on the current placements (before the scheduler):
 * a replica on the new spec not ready within deadlineMs of its own assignment (never before
 * the rollout's start), or an error rate over maxErrorRate on the new spec's servers over at
 * least 20 requests. Returns the reason (one sentence), or when to look again.
 */
export function rolloutCheck(
  rec: ServiceRecord, record: RolloutRecord | undefined, current: readonly { host: string; a: Assignment }[], ctx: Pick<RollContext, 'now' | 'lb' | 'healthyAs'>,
): { reason?: string; wakeAt?: number } {
  if (!record || record.state !== 'progressing' || record.to.specHash !== rec.specHash || !record.from) return {};
  const T = rec.specHash;
  const d = deployOf(rec.spec);
  const name = rec.spec.name;
  const published = rec.spec.publish !== undefined;
  const started = Date.parse(record.startedAt);
  const entries = new Map(record.replicas.map((e) => [e.replica, e]));
  const back = `${name}: rolled back to spec ${short(record.from.specHash)}`;
  let wakeAt: number | undefined;
  let requests = 0;
  let errors = 0;
  for (const { host, a } of [...current].sort((x, y) => x.a.replica - y.a.replica)) {
    if (a.specHash !== T || (a.drain && a.replica >= rec.spec.replicas)) continue; // a surge replica being taken out
    const e = entries.get(a.replica);
    const known = e !== undefined && e.host === host && e.specHash === T;
    const fig = ctx.lb.figures(a.jail);
    const base = known && e.baseline && e.baseline.requests <= fig.requests ? e.baseline : { requests: 0, errors: 0 };
    if (known) { requests += fig.requests - base.requests; errors += Math.max(0, fig.errors - base.errors); }
    const isHealthy = ctx.healthyAs(host, a);
    const notIn = published ? ctx.lb.notIn(a.jail) : [];
    if (isHealthy && notIn.length === 0 && !a.drain) continue;
    const since = Math.max(started, known && e.assignedAt ? Date.parse(e.assignedAt) : ctx.now);
    if (ctx.now - since < d.deadlineMs) { const t = since + d.deadlineMs; wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t); continue; }
    const within = secondsText(d.deadlineMs);
    if (!isHealthy) return { reason: `${back}: replica ${name}#${a.replica} not healthy on ${host} within ${within}` };
    return { reason: `${back}: replica ${name}#${a.replica} not in rotation on ${notIn.join(' ')} within ${within}` };
  }
  // a replica the scheduler could not place (no room for the surge, say) holds the rollout: it has the same deadline
  const placedIdx = new Set(current.map((c) => c.a.replica));
  const stale = current.some((c) => c.a.specHash !== T);
  if (stale) {
    const missing = [...Array(rec.spec.replicas + d.maxSurge).keys()].filter((i) => !placedIdx.has(i));
    if (missing.length > 0) {
      if (ctx.now - started >= d.deadlineMs) return { reason: `${back}: replica ${name}#${missing[0]} not placed within ${secondsText(d.deadlineMs)}` };
      const t = started + d.deadlineMs;
      wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t);
    }
  }
  if (requests >= 20 && errors / requests > d.maxErrorRate) {
    const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
    return { reason: `${back}: ${errors} of ${requests} requests to spec ${short(T)} failed (${pct(errors / requests)}, more than ${pct(d.maxErrorRate)})` };
  }
  return wakeAt === undefined ? {} : { wakeAt };
}
