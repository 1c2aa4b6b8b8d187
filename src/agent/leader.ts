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

export async function readSnapshot(store: Store): Promise<ClusterSnapshot> {
  const [live, info, ctl, services, placements, observed] = await Promise.all([
    store.getPrefix(K.hostsLive), store.getPrefix(K.hostsInfo), store.getPrefix(K.hostsCtl),
    store.getPrefix(K.services), store.getPrefix(K.placements), store.getPrefix(K.observedAll),
  ]);
  const map = <T>(kvs: { key: string; value: string }[]) => new Map(kvs.map((kv) => [lastSegment(kv.key), JSON.parse(kv.value) as T]));
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

export class LeaderLoop {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private watches: StoreWatch[] = [];
  private running: Promise<void> | undefined;
  private again = false;
  private election: Election | undefined;
  /** The sentences of the last passes, newest last (for status and tests). */
  readonly decisions: string[] = [];

  constructor(private readonly o: LeaderOptions) {}

  get isLeader(): boolean {
    return this.election?.isLeader ?? false;
  }

  /** Campaigns on this lease; once elected, runs passes until the lease is lost or stop(). */
  follow(lease: HostLease): void {
    const election = new Election(this.o.store, lease, { name: this.o.name });
    this.election = election;
    void (async () => {
      try {
        await election.campaign();
      } catch (err) {
        if (!(err instanceof NotLeaderError)) this.o.log.warn({ err: { message: (err as Error).message } }, 'campaign failed');
        return;
      }
      if (this.stopped || this.election !== election) { await election.resign().catch(() => {}); return; }
      this.o.log.info('elected leader: this agent writes placements');
      lease.onLost(() => this.o.log.warn('lost leadership with the host lease'));
      await this.lead(election);
    })();
  }

  private async lead(election: Election): Promise<void> {
    const trigger = () => this.kick(election);
    for (const prefix of [K.hostsLive, K.hostsInfo, K.hostsCtl, K.services, K.observedAll]) {
      this.watches.push(await this.o.store.watchPrefix(prefix, trigger).catch(() => ({ cancel: async () => {} })));
    }
    const tick = () => {
      if (this.stopped || !election.isLeader) return;
      this.kick(election);
      this.timer = setTimeout(tick, this.o.intervalMs ?? 2000);
      this.timer.unref();
    };
    tick();
  }

  /** Runs a pass now, or right after the one in flight. */
  private kick(election: Election): void {
    if (this.stopped || !election.isLeader) return;
    if (this.running) { this.again = true; return; }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass(election);
        } catch (err) {
          if (err instanceof NotLeaderError) { this.o.log.warn({ reason: err.message }, 'no longer leader'); await this.unwatch(); return; }
          this.o.log.warn({ err: { message: (err as Error).message } }, 'leader pass failed; retrying on the next change');
        }
      } while (this.again && !this.stopped && election.isLeader);
    })().finally(() => { this.running = undefined; });
  }

  private async pass(election: Election): Promise<void> {
    const s = await readSnapshot(this.o.store);
    const current = new Map([...s.placements].map(([h, p]) => [h, p.assignments]));
    const plan = planPlacements({ hosts: hostsOf(s), services: s.services, current, observed: s.observed });
    const writes = placementWrites(s, plan.byHost, this.o.name, new Date().toISOString());
    const said = [...plan.result.decisions, ...plan.rolling, ...plan.result.unplaced.map((u) => `${u.service}#${u.replica}: not placed: ${u.reason}`)];
    if (writes.length === 0) return;
    await election.write(writes);
    for (const d of said) this.o.log.info({ decision: d }, 'placement');
    this.decisions.push(...said);
    this.decisions.splice(0, Math.max(0, this.decisions.length - 200));
  }

  private async unwatch(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const w = this.watches.splice(0);
    await Promise.all(w.map((x) => x.cancel().catch(() => {})));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.unwatch();
    await this.running?.catch(() => {});
    await this.election?.resign().catch(() => {});
  }
}
