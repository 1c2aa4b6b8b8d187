/**
 * The agent's membership: it holds a HostLease on hosts/<name> for as long as it runs. When
 * the lease is lost (etcd unreachable for a TTL: a partition, a paused process), everything
 * attached to it is gone from etcd, so a new lease is taken as soon as etcd answers again and
 * the holders of attached keys (observed state, image holders, the election) are told.
 */
import type { Logger } from 'pino';
import { HostLease, type LeaseSource } from '../cluster/lease.js';
import type { Store } from '../cluster/store.js';
import { logError, logged, logWarn } from '../sys/log.js';

export interface MembershipOptions {
  store: Store;
  /** Where leases come from (the same etcd client as store). */
  leases: LeaseSource;
  name: string;
  ttlSeconds: number;
  /** The value of hosts/<name>, read at every (re)acquire. */
  value: () => unknown;
  log: Logger;
  /** Pause between failed attempts (default 1000 ms). */
  retryMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Membership {
  private current: HostLease | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly listeners: ((lease: HostLease) => void)[] = [];
  private wake: (() => void) | undefined;
  private wakeStart: (() => void) | undefined;

  constructor(private readonly o: MembershipOptions) {}

  /** The lease while it is surely alive. */
  get lease(): HostLease | undefined {
    return this.current?.alive ? this.current : undefined;
  }

  /** fn runs with every new lease (the first one included). */
  onLease(fn: (lease: HostLease) => void): void {
    this.listeners.push(fn);
    if (this.lease) fn(this.lease);
  }

  /**
   * Starts taking leases; resolves true once the first one is held, false when that takes
   * longer than `waitMs` (etcd without a majority) or stop() comes first. Leases keep being
   * taken in the background either way.
   */
  start(waitMs = 10_000): Promise<boolean> {
    let settle!: (held: boolean) => void;
    const held = new Promise<boolean>((r) => { settle = r; });
    this.onLease(() => settle(true));
    this.wakeStart = () => settle(false);
    const timer = setTimeout(() => settle(false), waitMs);
    timer.unref();
    this.loop = this.run();
    return held.finally(() => { clearTimeout(timer); this.wakeStart = undefined; });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let lease: HostLease;
      try {
        lease = await HostLease.acquire(this.o.leases, { name: this.o.name, ttlSeconds: this.o.ttlSeconds, value: this.o.value() });
      } catch (err) {
        if (failures++ % 10 === 0) logWarn(this.o.log, err, 'cannot take the host lease; retrying every second (logged every 10th time)');
        await sleep(this.o.retryMs ?? 1000);
        continue;
      }
      if (this.stopped) { await lease.revoke().catch(logged(this.o.log, 'revoking a lease taken while stopping failed; it expires by its TTL')); break; }
      failures = 0;
      this.current = lease;
      this.o.log.info({ lease: lease.id }, 'host lease held');
      const lost = new Promise<string>((resolve) => {
        lease.onLost(resolve);
        this.wake = () => resolve('stopping');
      });
      for (const fn of this.listeners) {
        try { fn(lease); } catch (err) { logError(this.o.log, err, 'a lease listener failed; the other listeners still run'); }
      }
      const why = await lost;
      if (this.stopped) break;
      this.o.log.warn({ reason: why }, 'host lease lost; taking a new one when etcd answers');
      await sleep(this.o.retryMs ?? 1000);
    }
  }

  /** Updates the value of hosts/<name> (ignored while no lease is held). */
  async update(): Promise<void> {
    await this.lease?.update(this.o.value()).catch(logged(this.o.log, 'updating the host key failed; the next lease writes it'));
  }

  /**
   * Stops. `revoke` ends the lease at once (a clean stop: the host is gone now); otherwise it
   * is left to expire by its TTL.
   */
  async stop(opts: { revoke: boolean }): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.wakeStart?.();
    const lease = this.current;
    this.current = undefined;
    if (lease) {
      if (opts.revoke) await lease.revoke().catch(logged(this.o.log, 'revoking the host lease failed; it expires by its TTL'));
      else lease.release();
    }
    await this.loop;
  }
}
