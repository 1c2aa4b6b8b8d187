/**
 * The leader's loop: while this agent leads, every change to hosts, host controls, services,
 * observed replicas, the load balancers' state or rollout records (and a timer, as a backstop)
 * triggers a pass that re-reads the whole state, plans placements and rollouts (pure:
 * cluster/leader-plan.ts, given this loop's clock) and writes, in one transaction guarded by
 * the leader key, the placements/<host> keys that changed, the rollout records that changed
 * and a rolled-back service's record. Those last two are also guarded by their value as read,
 * so an `apply` or `rollout undo` written meanwhile is never overwritten: the pass runs again.
 * A drain or a rollout deadline that ends schedules a pass at that moment. Losing the lease
 * or being superseded ends the loop at once.
 */
import type { Logger } from 'pino';
import { Election, NotLeaderError } from '../cluster/election.js';
import type { HostLease } from '../cluster/lease.js';
import { planPlacements } from '../cluster/leader-plan.js';
import type { Assignment, HostPlacements, ServiceRecord } from '../cluster/model.js';
import type { RolloutRecord } from '../cluster/rollout.js';
import { K } from '../cluster/keys.js';
import { defaultDiskOf, hostsOf, readSnapshot, type ClusterSnapshot } from '../cluster/snapshot.js';
import { logged, logWarn } from '../sys/log.js';
import type { Guard, Store, StoreWatch, TxnWrite } from '../cluster/store.js';

export interface LeaderOptions {
  store: Store;
  name: string;
  log: Logger;
  /** Backstop pass interval (default BACKSTOP_MS): watches drive the passes, this repairs a missed one. */
  intervalMs?: number;
  /** How long a pass waits for more events after the first (default DEBOUNCE_MS). */
  debounceMs?: number;
  /** The clock (ms since the epoch) the plan is given; default Date.now. */
  now?: () => number;
}

/** The leader's backstop pass: watches drive passes, this only repairs a missed event. */
export const BACKSTOP_MS = 10_000;
/** A burst of events (a host's replicas all reporting at once) makes one pass. */
export const DEBOUNCE_MS = 25;

/** The writes that make placements/ match byHost (only keys whose assignments changed). */
export function placementWrites(s: ClusterSnapshot, byHost: Map<string, Assignment[]>, leader: string, at: string): TxnWrite[] {
  const writes: TxnWrite[] = [];
  const known = new Set([...s.info.keys(), ...s.live.keys()]);
  for (const host of new Set([...byHost.keys(), ...s.placements.keys(), ...known])) {
    const want = byHost.get(host) ?? [];
    const have = s.placements.get(host);
    if (!known.has(host)) {
      if (have) writes.push({ delete: K.placement(host) });
      continue;
    }
    if (have && JSON.stringify(have.assignments) === JSON.stringify(want)) continue;
    if (!have && want.length === 0) continue;
    const value: HostPlacements = { host, assignments: want, by: leader, at };
    writes.push({ put: K.placement(host), value: JSON.stringify(value) });
  }
  return writes;
}

/**
 * The writes of the rollout records and rolled-back services a plan changed, each guarded by
 * the value the pass read (absent: not created since), so an apply or undo written meanwhile wins.
 */
export function rolloutWrites(s: ClusterSnapshot, rollouts: readonly RolloutRecord[], services: readonly ServiceRecord[]): { writes: TxnWrite[]; guards: Guard[] } {
  const writes: TxnWrite[] = [];
  const guards: Guard[] = [];
  const guard = (key: string, was: unknown) => guards.push(was === undefined ? { key, target: 'Create', op: '==', value: 0 } : { key, target: 'Value', op: '==', value: JSON.stringify(was) });
  for (const r of rollouts) {
    const key = K.rollout(r.stack, r.service);
    guard(key, s.rollouts.find((x) => x.stack === r.stack && x.service === r.service));
    writes.push({ put: key, value: JSON.stringify(r) });
  }
  // the record of a service that is gone (stack deleted, service removed from its file) goes too
  for (const r of s.rollouts) {
    if (s.services.some((x) => x.stack === r.stack && x.spec.name === r.service)) continue;
    const key = K.rollout(r.stack, r.service);
    guard(key, r);
    writes.push({ delete: key });
  }
  for (const r of services) {
    const key = K.service(r.stack, r.spec.name);
    const was = s.services.find((x) => x.stack === r.stack && x.spec.name === r.spec.name);
    if (was === undefined) continue; // deleted meanwhile: nothing to roll back
    guard(key, was);
    writes.push({ put: key, value: JSON.stringify(r) });
  }
  return { writes, guards };
}

/** A pass this long after a drain or deadline ends (the plan compares with >=). */
const WAKE_SLACK_MS = 20;

/** One election, on one lease: its watches, timer and pass loop, ended together. */
interface Term {
  election: Election;
  lease: HostLease;
  ended: boolean;
  watches: StoreWatch[];
  timer: NodeJS.Timeout | undefined;
  debounce: NodeJS.Timeout | undefined;
  /** The pass when the next drain or rollout deadline ends. */
  wake: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  again: boolean;
}

/** What the leader watches: a change under any of these triggers a pass. */
const WATCHED = [K.hostsLive, K.hostsInfo, K.hostsCtl, K.services, K.observedAll, K.lbStates, K.rollouts];

export class LeaderLoop {
  private stopped = false;
  /** The election on the newest lease. */
  private term: Term | undefined;
  /** The sentences of the last passes, newest last (for status and tests). */
  readonly decisions: string[] = [];

  constructor(private readonly o: LeaderOptions) {}

  get isLeader(): boolean {
    return this.term?.election.isLeader ?? false;
  }

  /**
   * Campaigns on this lease; once elected, runs passes until the lease is lost or stop(). A
   * new lease ends the election on the previous one (its watches, timer and campaign).
   */
  follow(lease: HostLease): void {
    if (this.stopped) return;
    const prev = this.term;
    const term: Term = {
      election: new Election(this.o.store, lease, { name: this.o.name }), lease,
      ended: false, watches: [], timer: undefined, debounce: undefined, wake: undefined, running: undefined, again: false,
    };
    this.term = term;
    if (prev) void this.retire(prev);
    void (async () => {
      try {
        await term.election.campaign();
      } catch (err) {
        if (!(err instanceof NotLeaderError)) logWarn(this.o.log, err, 'campaign failed; the next lease campaigns again');
        return;
      }
      if (this.stopped || term.ended) { await term.election.resign().catch(logged(this.o.log, 'resigning a superseded election failed; its key goes with its lease')); return; }
      this.o.log.info('elected leader: this agent writes placements');
      lease.onLost(() => {
        if (!term.ended) this.o.log.warn('lost leadership with the host lease');
        void this.end(term);
      });
      await this.lead(term);
    })().catch(logged(this.o.log, 'leading failed; the next lease campaigns again'));
  }

  private async lead(term: Term): Promise<void> {
    // a pass at once (the state may have changed while no one led), another once watching
    this.tick(term);
    const trigger = () => this.soon(term);
    const watches = await Promise.all(WATCHED.map((prefix) => this.o.store.watchPrefix(prefix, trigger).catch((err: unknown) => {
      logWarn(this.o.log, err, 'cannot watch; relying on the backstop timer', { prefix });
      return undefined;
    })));
    term.watches.push(...watches.filter((w): w is StoreWatch => w !== undefined));
    // ended while the watches were made, or no longer leading (nothing would run passes)
    if (term.ended || !term.election.isLeader) { await this.end(term); return; }
    this.kick(term);
  }

  /** A pass now, and again every intervalMs while this term leads. */
  private tick(term: Term): void {
    if (this.stopped || term.ended || !term.election.isLeader) return;
    this.kick(term);
    term.timer = setTimeout(() => this.tick(term), this.o.intervalMs ?? BACKSTOP_MS);
    term.timer.unref();
  }

  /** A pass after a short debounce: the events of one change arrive together. */
  private soon(term: Term): void {
    if (term.debounce || this.stopped || term.ended) return;
    term.debounce = setTimeout(() => { term.debounce = undefined; this.kick(term); }, this.o.debounceMs ?? DEBOUNCE_MS);
    term.debounce.unref();
  }

  /** Runs a pass now, or right after the one in flight. */
  private kick(term: Term): void {
    if (this.stopped || term.ended || !term.election.isLeader) return;
    if (term.running) { term.again = true; return; }
    term.running = (async () => {
      do {
        term.again = false;
        try {
          await this.pass(term);
        } catch (err) {
          if (err instanceof NotLeaderError) { this.o.log.warn({ reason: err.message }, 'no longer leader'); await this.end(term); return; }
          logWarn(this.o.log, err, 'leader pass failed; retrying on the next change or the backstop pass');
        }
      } while (term.again && !this.stopped && !term.ended && term.election.isLeader);
    })().finally(() => { term.running = undefined; });
  }

  private async pass(term: Term): Promise<void> {
    const s = await readSnapshot(this.o.store);
    const now = this.o.now?.() ?? Date.now();
    const current = new Map([...s.placements].map(([h, p]) => [h, p.assignments]));
    const plan = planPlacements({
      hosts: hostsOf(s), services: s.services, current, observed: s.observed, ...defaultDiskOf(s), now, rollouts: s.rollouts, lbStates: s.lbStates,
    });
    this.wakeAt(term, plan.wakeAt, now);
    const placements = placementWrites(s, plan.byHost, this.o.name, new Date(now).toISOString());
    const ro = rolloutWrites(s, plan.rollouts, plan.serviceWrites);
    // the scheduler's decisions already say "not placed: <reason>" for every unplaced replica
    const said = [...plan.result.decisions, ...plan.rolling];
    const writes = [...placements, ...ro.writes];
    if (writes.length === 0) return;
    const res = await term.election.write(writes, ro.guards);
    if (!res.succeeded) { this.soon(term); return; } // a rollout record or service changed meanwhile: plan again
    for (const d of said) this.o.log.info({ decision: d }, 'placement');
    this.decisions.push(...said);
    this.decisions.splice(0, Math.max(0, this.decisions.length - 200));
  }

  /** A pass when the next drain or rollout deadline ends (one timer per term, the earliest). */
  private wakeAt(term: Term, at: number | undefined, now: number): void {
    if (term.wake) clearTimeout(term.wake);
    term.wake = undefined;
    if (at === undefined || term.ended) return;
    term.wake = setTimeout(() => { term.wake = undefined; this.kick(term); }, Math.max(0, at - now) + WAKE_SLACK_MS);
    term.wake.unref();
  }

  /** Ends a term's passes: its timer and watches (the election itself is left as it is). */
  private async end(term: Term): Promise<void> {
    term.ended = true;
    if (term.timer) clearTimeout(term.timer);
    if (term.debounce) clearTimeout(term.debounce);
    if (term.wake) clearTimeout(term.wake);
    term.timer = undefined;
    term.debounce = undefined;
    term.wake = undefined;
    const w = term.watches.splice(0);
    // a watch whose stream broke is gone already; nothing to undo
    await Promise.all(w.map((x) => x.cancel().catch(() => undefined)));
  }

  /**
   * Ends a superseded term and its election. resign() only deletes the leader key while it is
   * still this term's (its lease alive); after a lost lease it just stops the campaign's watch.
   */
  private async retire(term: Term): Promise<void> {
    await this.end(term);
    await term.running; // a pass logs its own failure
    await term.election.resign().catch(logged(this.o.log, 'resigning failed; the leader key goes with its lease'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.term) await this.retire(this.term);
  }
}
