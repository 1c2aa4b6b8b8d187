/**
 * The per-host reconciler: level-triggered. Each pass re-reads this host's placements from
 * etcd and its jails from the jail manager, asks the pure core (reconcile.ts) what to do, and
 * starts those actions asynchronously, one in flight per jail (pulls: one per image). A
 * finished action triggers the next pass; a timer is the backstop. A failed action's key
 * cools down before it is tried again (1 s, doubling to 30 s; reset by a success): the
 * backstop pass retries it once its time is up. Observed state (phase, health, IP) is
 * written back under observed/<host>/, attached to the host's lease.
 *
 * Every action is idempotent, so an agent killed at any point converges on its next pass:
 * a half-made jail is removed and made again (its spec hash is recorded only once it runs).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { NotFoundError } from '../sys/errors.js';
import { parseReplicaJailName, type Assignment, type HostPlacements, type ObservedReplica } from '../cluster/model.js';
import { K } from '../cluster/keys.js';
import type { Store, StoreWatch } from '../cluster/store.js';
import type { HostLease } from '../cluster/lease.js';
import { HealthMonitor } from '../cluster/health.js';
import { clusterDir } from '../cluster/config.js';
import type { JailService, JailView } from '../jail/service.js';
import { formatImageRef, parseImageRef } from '../sys/names.js';
import { readJson, writeJsonAtomic } from '../sys/fsutil.js';
import { readImage } from '../storage/images/store.js';
import { logged, logWarn } from '../sys/log.js';
import { actionKey, afterFailure, coolingDown, jailRequest, pruneRetries, reconcile, type Action, type Retry } from './reconcile.js';
import { SerialPass } from '../sys/serial.js';

export interface ReconcilerOptions {
  store: Store;
  host: string;
  dataDir: string;
  jails: JailService;
  log: Logger;
  /** Makes NAME:TAG present locally (from a peer); resolves when it is. */
  pull: (image: string) => Promise<void>;
  /** Backstop pass interval (default BACKSTOP_MS): watches, finished actions and health changes drive passes. */
  intervalMs?: number;
  /** Whether NAME:TAG is on this host (default: its image record exists). */
  hasImage?: (image: string) => Promise<boolean>;
  /** Monotonic clock in ms for retry backoff (default performance.now). */
  now?: () => number;
}

type Phase = ObservedReplica['phase'];

/** The reconciler's backstop pass (a jail that died between passes is seen by then at the latest). */
export const BACKSTOP_MS = 5_000;

export class Reconciler {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private watch: StoreWatch | undefined;
  private readonly passes = new SerialPass(() => this.pass(), (err) => logWarn(this.o.log, err, 'reconcile pass failed; the next change or the backstop pass retries'), () => this.stopped);
  private readonly inFlight = new Map<string, Promise<void>>();
  /** By action key: the backoff of an action that failed (deleted when it succeeds). */
  private retries = new Map<string, Retry>();
  /** Per jail: phase while an action runs, and the last failure. */
  private readonly phases = new Map<string, { phase: Phase; message: string | null }>();
  private readonly health: HealthMonitor;
  private healthy = new Map<string, { healthy: boolean; message: string | null }>();
  private hashes: Map<string, string> | undefined;
  private lease: HostLease | undefined;
  /** What observed/<host>/<jail> holds now, as written (to write only changes). */
  private written = new Map<string, string>();
  private assignments: Assignment[] = [];
  /** The last sentence logged (to log only changes). */
  private said = '';
  /** Images known to be here, of the current assignments (one removed by hand is dropped when a create fails). */
  private readonly present = new Set<string>();
  /** A pass when the earliest failed action may be tried again. */
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ReconcilerOptions) {
    this.health = new HealthMonitor();
  }

  private get hashFile(): string {
    return join(clusterDir(this.o.dataDir), 'replicas.json');
  }

  async start(): Promise<void> {
    this.hashes = new Map(Object.entries((await readJson<Record<string, string>>(this.hashFile)) ?? {}));
    this.watch = await this.o.store.watchKey(K.placement(this.o.host), () => this.kick());
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, this.o.intervalMs ?? BACKSTOP_MS);
      this.timer.unref();
    };
    tick();
  }

  /** Observed keys go on this lease from now on (all are rewritten). */
  useLease(lease: HostLease): void {
    this.lease = lease;
    this.written.clear();
    this.kick();
  }

  kick(): void {
    this.passes.kick();
  }

  private async pass(): Promise<void> {
    const placed = await this.o.store.getJson<HostPlacements>(K.placement(this.o.host));
    this.assignments = placed?.assignments ?? [];
    const jails = await this.o.jails.list();
    const images = await this.imagesPresent();
    this.forgetPhases(jails);
    const now = this.now();
    const inFlight = new Set(this.inFlight.keys());
    this.retries = pruneRetries(this.retries, now, inFlight);
    const { actions, sentence } = reconcile({
      assignments: this.assignments,
      jails,
      inFlight,
      cooldown: coolingDown(this.retries, now),
      imagesPresent: images,
      hashes: this.hashes!,
      canResize: this.o.jails.setDisk !== undefined,
    });
    if (actions.length > 0 && sentence !== this.said) this.o.log.info({ decision: sentence }, 'reconcile');
    this.said = actions.length > 0 ? sentence : '';
    for (const a of actions) this.launch(a);
    this.syncHealth(jails);
    this.armRetry(now);
    await this.publish(jails);
  }

  /** The assigned images that are here: one record read per image not seen here before. */
  private async imagesPresent(): Promise<Set<string>> {
    const has = this.o.hasImage ?? (async (image: string) => (await readImage(this.o.dataDir, parseImageRef(image))) !== undefined);
    const wanted = new Set(this.assignments.map((a) => formatImageRef(a.spec.image)));
    for (const image of [...this.present]) if (!wanted.has(image)) this.present.delete(image);
    for (const image of wanted) {
      if (!this.present.has(image) && (await has(image))) this.present.add(image);
    }
    return this.present;
  }

  /** A pass once the earliest cooldown is over (the backstop is slower than the first retries). */
  private armRetry(now: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // only waits still running: an ended one is kept (for its failure count) but wakes nothing
    const until = Math.min(...[...this.retries.values()].map((r) => r.until).filter((u) => u > now));
    if (!Number.isFinite(until) || this.stopped) return;
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.kick(); }, Math.max(0, until - now) + 10);
    this.retryTimer.unref();
  }

  private now(): number {
    return this.o.now ? this.o.now() : performance.now();
  }

  /** Phases of jails neither assigned nor present (nor acted on) any more are dropped. */
  private forgetPhases(jails: JailView[]): void {
    const keep = new Set([...this.assignments.map((a) => a.jail), ...jails.map((j) => j.name), ...this.inFlight.keys()]);
    for (const jail of [...this.phases.keys()]) if (!keep.has(jail)) this.phases.delete(jail);
  }

  private launch(a: Action): void {
    const key = actionKey(a);
    if (this.inFlight.has(key)) return;
    const run = this.act(a)
      .then(() => { this.retries.delete(key); })
      .catch((err: Error) => {
        const now = this.now();
        const retry = afterFailure(this.retries.get(key), now);
        this.retries.set(key, retry);
        logWarn(this.o.log, err, `reconcile action failed; retrying in ${(retry.until - now) / 1000} s at the earliest`, { action: a.kind, target: key, failures: retry.failures });
        // the image may have gone (image rm by hand): the next pass reads its record again
        if (a.kind === 'create' || a.kind === 'replace') this.present.delete(formatImageRef(a.assignment.spec.image));
        if (a.kind !== 'pull') this.phases.set(key, { phase: 'failed', message: err.message });
        else for (const as of this.assignments) if (formatImageRef(as.spec.image) === a.image) this.phases.set(as.jail, { phase: 'failed', message: `pulling ${a.image}: ${err.message}` });
      })
      .finally(() => {
        this.inFlight.delete(key);
        this.kick();
      });
    this.inFlight.set(key, run);
  }

  private async act(a: Action): Promise<void> {
    switch (a.kind) {
      case 'pull': {
        for (const as of this.assignments) if (formatImageRef(as.spec.image) === a.image) this.phases.set(as.jail, { phase: 'pulling', message: null });
        await this.o.pull(a.image);
        this.present.add(a.image);
        return;
      }
      case 'create':
      case 'replace': {
        const j = a.assignment.jail;
        this.phases.set(j, { phase: 'creating', message: null });
        this.health.unwatch(j);
        this.healthy.delete(j);
        if (a.kind === 'replace') await this.removeJail(j);
        else await this.removeJail(j); // a half-made jail of a killed agent, if any
        await this.o.jails.create(jailRequest(a.assignment));
        await this.setHash(j, a.assignment.specHash);
        this.phases.delete(j);
        return;
      }
      case 'resize': {
        const j = a.assignment.jail;
        await this.o.jails.setDisk!(j, jailRequest(a.assignment).disk!);
        await this.setHash(j, a.assignment.specHash);
        return;
      }
      case 'start':
        await this.o.jails.start(a.jail);
        this.phases.delete(a.jail);
        return;
      case 'remove':
        this.health.unwatch(a.jail);
        this.healthy.delete(a.jail);
        await this.removeJail(a.jail);
        this.phases.delete(a.jail);
        return;
    }
  }

  private async removeJail(jail: string): Promise<void> {
    try {
      await this.o.jails.remove(jail, { force: true });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    await this.setHash(jail, undefined);
  }

  private async setHash(jail: string, hash: string | undefined): Promise<void> {
    if (hash === undefined) this.hashes!.delete(jail);
    else this.hashes!.set(jail, hash);
    await writeJsonAtomic(this.hashFile, Object.fromEntries([...this.hashes!].sort()), 0o600);
  }

  /** Health checks follow the running managed jails. */
  private syncHealth(jails: JailView[]): void {
    if (this.stopped) return; // stop() closed the checks; none may start after that
    const byJail = new Map(this.assignments.map((a) => [a.jail, a]));
    const running = new Set<string>();
    for (const j of jails) {
      const a = byJail.get(j.name);
      if (!a || j.state !== 'running' || this.hashes!.get(j.name) !== a.specHash) continue;
      running.add(j.name);
      if (!a.spec.health) { this.healthy.set(j.name, { healthy: true, message: null }); continue; }
      if (this.health.watching(j.name)) continue;
      this.health.watch(j.name, j.ip, a.spec.health, (state) => {
        this.healthy.set(j.name, { healthy: state.healthy, message: state.message ?? null });
        void this.publishNow();
      }, this.o.jails);
    }
    for (const name of this.health.jails()) if (!running.has(name)) { this.health.unwatch(name); this.healthy.delete(name); }
  }

  private async publishNow(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.publish(await this.o.jails.list());
    } catch (err) {
      logWarn(this.o.log, err, 'publishing a health change failed; the next pass writes it');
    }
  }

  /** Writes observed/<host>/<jail> for every managed jail (changes only) and deletes the rest. */
  private async publish(jails: JailView[]): Promise<void> {
    const lease = this.lease;
    if (!lease?.alive) return;
    const byJail = new Map(this.assignments.map((a) => [a.jail, a]));
    const now = new Date().toISOString();
    const want = new Map<string, ObservedReplica>();
    const seen = new Set<string>();
    const add = (jail: string, a: Assignment | undefined, view: JailView | undefined) => {
      const parsed = parseReplicaJailName(jail);
      if (!parsed) return;
      seen.add(jail);
      const ph = this.phases.get(jail);
      const phase: Phase = ph?.phase ?? (view ? (view.state === 'running' || view.state === 'restarting' ? 'running' : view.state === 'failed' ? 'failed' : 'stopped') : 'creating');
      const h = this.healthy.get(jail);
      // why an unhealthy replica is not healthy: the check's last failure (also before its first pass)
      const track = this.health.state(jail);
      const unhealthyWhy = track && !track.healthy ? track.message ?? null : null;
      const hash = this.hashes!.get(jail) ?? '';
      want.set(jail, {
        host: this.o.host, jail, stack: parsed.stack, service: parsed.service, replica: parsed.replica,
        specHash: hash, phase,
        healthy: phase === 'running' && view?.state === 'running' && (h?.healthy ?? false) && hash === a?.specHash,
        ip: view?.ip ?? null,
        message: ph?.message ?? unhealthyWhy ?? h?.message ?? (view?.lastExitReason ? `last exit: ${view.lastExitReason}` : null),
        at: now,
      });
    };
    for (const j of jails) add(j.name, byJail.get(j.name), j);
    for (const a of this.assignments) if (!seen.has(a.jail)) add(a.jail, a, undefined);
    const ops: Promise<unknown>[] = [];
    for (const [jail, rec] of want) {
      const { at: _at, ...comparable } = rec;
      const text = JSON.stringify(comparable);
      if (this.written.get(jail) === text) continue;
      this.written.set(jail, text);
      // a failed put is written again by the next pass (forgetting it marks it unwritten)
      ops.push(this.o.store.putJson(K.observed(this.o.host, jail), rec, lease.id).catch(() => this.written.delete(jail)));
    }
    for (const jail of [...this.written.keys()]) {
      if (want.has(jail)) continue;
      this.written.delete(jail);
      ops.push(this.o.store.delete(K.observed(this.o.host, jail)).catch(logged(this.o.log, 'deleting an observed replica failed; it goes with the lease', 'warn', { jail })));
    }
    await Promise.all(ops);
  }

  /** Stops the health checks and the loop, then waits for actions in flight; jails keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.health.close();
    await this.watch?.cancel().catch(() => undefined); // a broken watch stream is gone already
    await this.passes.idle(); // a pass logs its own failure
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
