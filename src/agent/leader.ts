/**
 * The leader's loop: while this agent leads, every change to hosts, host controls, services or
 * observed replicas (and a timer, as a backstop) triggers a pass that re-reads the whole
 * state, plans placements (pure: cluster/leader-plan.ts) and writes the placements/<host>
 * keys that changed, in one transaction guarded by the leader key. Losing the lease or being
 * superseded ends the loop at once.
 */
import type { Logger } from 'pino';
import { Election, NotLeaderError } from '../cluster/election.js';
import type { HostLease } from '../cluster/lease.js';
import { planPlacements } from '../cluster/leader-plan.js';
import type { Assignment, HostPlacements } from '../cluster/model.js';
import { K } from '../cluster/keys.js';
import { defaultDiskOf, hostsOf, readSnapshot, type ClusterSnapshot } from '../cluster/snapshot.js';
import { logged, logWarn } from '../sys/log.js';
import type { Store, StoreWatch, TxnWrite } from '../cluster/store.js';

export interface LeaderOptions {
  store: Store;
  name: string;
  log: Logger;
  /** Backstop pass interval (default BACKSTOP_MS): watches drive the passes, this repairs a missed one. */
  intervalMs?: number;
  /** How long a pass waits for more events after the first (default DEBOUNCE_MS). */
  debounceMs?: number;
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

/** One election, on one lease: its watches, timer and pass loop, ended together. */
interface Term {
  election: Election;
  lease: HostLease;
  ended: boolean;
  watches: StoreWatch[];
  timer: NodeJS.Timeout | undefined;
  debounce: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  again: boolean;
}

/** What the leader watches: a change under any of these triggers a pass. */
const WATCHED = [K.hostsLive, K.hostsInfo, K.hostsCtl, K.services, K.observedAll];

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
      ended: false, watches: [], timer: undefined, debounce: undefined, running: undefined, again: false,
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
          await this.pass(term.election);
        } catch (err) {
          if (err instanceof NotLeaderError) { this.o.log.warn({ reason: err.message }, 'no longer leader'); await this.end(term); return; }
          logWarn(this.o.log, err, 'leader pass failed; retrying on the next change or the backstop pass');
        }
      } while (term.again && !this.stopped && !term.ended && term.election.isLeader);
    })().finally(() => { term.running = undefined; });
  }

  private async pass(election: Election): Promise<void> {
    const s = await readSnapshot(this.o.store);
    const current = new Map([...s.placements].map(([h, p]) => [h, p.assignments]));
    const plan = planPlacements({ hosts: hostsOf(s), services: s.services, current, observed: s.observed, ...defaultDiskOf(s) });
    const writes = placementWrites(s, plan.byHost, this.o.name, new Date().toISOString());
    // the scheduler's decisions already say "not placed: <reason>" for every unplaced replica
    const said = [...plan.result.decisions, ...plan.rolling];
    if (writes.length === 0) return;
    await election.write(writes);
    for (const d of said) this.o.log.info({ decision: d }, 'placement');
    this.decisions.push(...said);
    this.decisions.splice(0, Math.max(0, this.decisions.length - 200));
  }

  /** Ends a term's passes: its timer and watches (the election itself is left as it is). */
  private async end(term: Term): Promise<void> {
    term.ended = true;
    if (term.timer) clearTimeout(term.timer);
    if (term.debounce) clearTimeout(term.debounce);
    term.timer = undefined;
    term.debounce = undefined;
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
