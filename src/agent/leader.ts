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
import { K, type Assignment, type HostControl, type HostInfo, type HostLive, type HostPlacements, type ObservedReplica, type ServiceRecord } from '../cluster/model.js';
import type { Host } from '../cluster/scheduler-types.js';
import type { Store, StoreWatch, TxnWrite } from '../cluster/store.js';

export interface LeaderOptions {
  store: Store;
  name: string;
  log: Logger;
  /** Backstop pass interval (default 2000 ms). */
  intervalMs?: number;
}

/** Everything a pass reads, as plain data. */
export interface ClusterSnapshot {
  live: Map<string, HostLive>;
  info: Map<string, HostInfo>;
  ctl: Map<string, HostControl>;
  services: ServiceRecord[];
  placements: Map<string, HostPlacements>;
  observed: ObservedReplica[];
}

function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** The JSON values of a prefix read, by the last segment of their keys (host names). */
export function jsonByName<T>(kvs: readonly { key: string; value: string }[]): Map<string, T> {
  return new Map(kvs.map((kv) => [lastSegment(kv.key), JSON.parse(kv.value) as T]));
}

export async function readSnapshot(store: Store): Promise<ClusterSnapshot> {
  const [live, info, ctl, services, placements, observed] = await Promise.all([
    store.getPrefix(K.hostsLive), store.getPrefix(K.hostsInfo), store.getPrefix(K.hostsCtl),
    store.getPrefix(K.services), store.getPrefix(K.placements), store.getPrefix(K.observedAll),
  ]);
  const map = jsonByName;
  return {
    live: map<HostLive>(live.kvs),
    info: map<HostInfo>(info.kvs),
    ctl: map<HostControl>(ctl.kvs),
    services: services.kvs.map((kv) => JSON.parse(kv.value) as ServiceRecord),
    placements: map<HostPlacements>(placements.kvs),
    observed: observed.kvs.map((kv) => JSON.parse(kv.value) as ObservedReplica),
  };
}

/** The scheduler's view of the hosts: every known host, down when its lease is gone. */
export function hostsOf(s: ClusterSnapshot): Host[] {
  const names = new Set([...s.info.keys(), ...s.live.keys()]);
  return [...names].sort().map((name): Host => {
    const live = s.live.get(name);
    const ctl = s.ctl.get(name);
    const state = !live ? 'down' : ctl ? ctl.state : 'ready';
    return { name, state, capacity: live?.capacity ?? { memoryBytes: 0, cpus: 0, jails: 0 } };
  });
}

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
      ended: false, watches: [], timer: undefined, running: undefined, again: false,
    };
    this.term = term;
    if (prev) void this.retire(prev);
    void (async () => {
      try {
        await term.election.campaign();
      } catch (err) {
        if (!(err instanceof NotLeaderError)) this.o.log.warn({ err: { message: (err as Error).message } }, 'campaign failed');
        return;
      }
      if (this.stopped || term.ended) { await term.election.resign().catch(() => {}); return; }
      this.o.log.info('elected leader: this agent writes placements');
      lease.onLost(() => {
        if (!term.ended) this.o.log.warn('lost leadership with the host lease');
        void this.end(term);
      });
      await this.lead(term);
    })().catch((err: Error) => this.o.log.warn({ err: { message: err.message } }, 'leading failed'));
  }

  private async lead(term: Term): Promise<void> {
    // a pass at once (the state may have changed while no one led), another once watching
    this.tick(term);
    const trigger = () => this.kick(term);
    const watches = await Promise.all(WATCHED.map((prefix) => this.o.store.watchPrefix(prefix, trigger).catch((err: Error) => {
      this.o.log.warn({ prefix, err: { message: err.message } }, 'cannot watch; relying on the timer');
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
    term.timer = setTimeout(() => this.tick(term), this.o.intervalMs ?? 2000);
    term.timer.unref();
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
          this.o.log.warn({ err: { message: (err as Error).message } }, 'leader pass failed; retrying on the next change');
        }
      } while (term.again && !this.stopped && !term.ended && term.election.isLeader);
    })().finally(() => { term.running = undefined; });
  }

  private async pass(election: Election): Promise<void> {
    const s = await readSnapshot(this.o.store);
    const current = new Map([...s.placements].map(([h, p]) => [h, p.assignments]));
    const plan = planPlacements({ hosts: hostsOf(s), services: s.services, current, observed: s.observed });
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
    term.timer = undefined;
    const w = term.watches.splice(0);
    await Promise.all(w.map((x) => x.cancel().catch(() => {})));
  }

  /**
   * Ends a superseded term and its election. resign() only deletes the leader key while it is
   * still this term's (its lease alive); after a lost lease it just stops the campaign's watch.
   */
  private async retire(term: Term): Promise<void> {
    await this.end(term);
    await term.running?.catch(() => {});
    await term.election.resign().catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.term) await this.retire(this.term);
  }
}
