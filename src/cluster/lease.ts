/**
 * HostLease: an agent's membership. A lease with a TTL of a few seconds, kept alive by the
 * etcd3 client, and the key hosts/NAME attached to it: when the agent stops renewing (crash,
 * partition, host down), etcd deletes the key after the TTL; watchers of hosts/ see the delete.
 *
 * The holder tracks how long the lease is surely alive: a keepalive sent at t and answered
 * with TTL s keeps it until at least t + s (etcd renews on receipt, after t). When that moment
 * passes unanswered the lease counts as lost at once, with no wait for etcd3's own detection
 * (2 × TTL): `alive` turns false and onLost fires, so leadership built on it stops in time.
 */
import type { Lease } from 'etcd3';
import { K } from './keys.js';

/** Where host leases come from: a client that keeps a lease alive (EtcdStore). */
export interface LeaseSource {
  leaseHandle(ttlSeconds: number): Lease;
}

export interface HostLeaseOptions {
  /** Host name; the key is hosts/NAME. */
  name: string;
  /** Lease TTL in whole seconds (etcd's minimum with default timing is 2). Default 5. */
  ttlSeconds?: number;
  /** JSON value of the host key (facts about the host). Default {}. */
  value?: unknown;
  /** Monotonic milliseconds; a parameter so tests can drive it. Default performance.now(). */
  now?: () => number;
}

export type LeaseState = 'alive' | 'lost' | 'released' | 'revoked';

/** 3 s: a dead host is noticed within about that; keepalives go every second (TTL / 3). */
export const DEFAULT_HOST_TTL_SECONDS = 3;
const STALL_MS = 500;

export class HostLease {
  readonly key: string;
  readonly ttlSeconds: number;
  private stateValue: LeaseState = 'alive';
  private untilMs: number;
  private fired: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private probing = 0;
  private readonly lostHandlers: ((reason: string) => void)[] = [];
  private readonly now: () => number;

  private idValue = '';
  private lostReason = '';

  /** Listens before the grant: the etcd3 Lease starts keepalives the moment it is granted. */
  private constructor(private readonly lease: Lease, grantedAt: number, opts: HostLeaseOptions) {
    this.key = K.hostLive(opts.name);
    this.ttlSeconds = opts.ttlSeconds ?? DEFAULT_HOST_TTL_SECONDS;
    this.now = opts.now ?? (() => performance.now());
    this.untilMs = grantedAt + this.ttlSeconds * 1000;
    lease.on('keepaliveEstablished', () => { this.fired = []; });
    lease.on('keepaliveFired', () => { this.fired.push(this.now()); });
    lease.on('keepaliveSucceeded', (res) => {
      // answers come in order on one stream; without a recorded send time, assume nothing
      const sentAt = this.fired.shift();
      if (sentAt !== undefined) this.untilMs = Math.max(this.untilMs, sentAt + Number(res.TTL) * 1000);
      this.arm();
    });
    lease.on('lost', (err) => this.lose(`etcd reports the lease lost: ${err.message}`));
    this.arm();
    // etcd serves a keepalive stream one request at a time, and a follower forwards each to the
    // raft leader with a 7 s timeout: one renewal stuck on a leader that just died holds back
    // every later one on the stream, past the new leader's election. Renew on a fresh stream
    // while the oldest keepalive has gone unanswered for STALL_MS.
    this.watchdog = setInterval(() => {
      const oldest = this.fired[0];
      if (this.stateValue === 'alive' && oldest !== undefined && this.now() - oldest >= STALL_MS) this.probe();
    }, STALL_MS);
    this.watchdog.unref();
  }

  private probe(): void {
    if (this.probing >= 4) return;
    this.probing++;
    const sentAt = this.now();
    this.lease.keepaliveOnce().then((res) => {
      if (this.stateValue !== 'alive') return;
      this.untilMs = Math.max(this.untilMs, sentAt + Number(res.TTL) * 1000);
      this.arm();
    }, () => { /* etcd's 'lost' (TTL 0) reaches lose(); anything else: the next probe */ }).finally(() => { this.probing--; });
  }

  /** Grants the lease and puts the host key on it; keepalive starts at once. */
  static async acquire(store: LeaseSource, opts: HostLeaseOptions): Promise<HostLease> {
    const key = K.hostLive(opts.name);
    const now = opts.now ?? (() => performance.now());
    const grantedAt = now();
    const lease = store.leaseHandle(opts.ttlSeconds ?? DEFAULT_HOST_TTL_SECONDS);
    const held = new HostLease(lease, grantedAt, opts);
    try {
      held.idValue = String(await lease.grant());
      await lease.put(key).value(JSON.stringify(opts.value ?? {})).exec();
    } catch (e) {
      held.end('revoked');
      await lease.revoke().catch(() => undefined); // etcd failed the grant or the put: there may be no lease to revoke

      throw e;
    }
    return held;
  }

  /** etcd's lease ID (decimal). */
  get id(): string {
    return this.idValue;
  }

  get state(): LeaseState {
    if (this.stateValue === 'alive' && this.now() >= this.untilMs) this.lose('no keepalive answered within the TTL');
    return this.stateValue;
  }

  /** True while the lease is surely alive in etcd. */
  get alive(): boolean {
    return this.state === 'alive';
  }

  /** Monotonic time (the `now` clock) until which the lease is surely alive. */
  get validUntil(): number {
    return this.untilMs;
  }

  /** fn runs once, when the lease is lost (not after release() or revoke()). */
  onLost(fn: (reason: string) => void): void {
    // lost before the holder listened (between the grant and this call): tell it now, or it
    // would wait for a loss that has already happened and never take a new lease
    if (this.state === 'lost') {
      const reason = this.lostReason;
      queueMicrotask(() => fn(reason));
      return;
    }
    this.lostHandlers.push(fn);
  }

  /** Updates the host key's value (a no-op error if the lease is gone). */
  async update(value: unknown): Promise<void> {
    await this.lease.put(this.key).value(JSON.stringify(value)).exec();
  }

  /** Stops renewing and lets the lease expire by its TTL, as a crashed agent's would. */
  release(): void {
    this.end('released');
    this.lease.release();
  }

  /** Ends the lease now: etcd deletes the host key (and a leader key on this lease). */
  async revoke(): Promise<void> {
    this.end('revoked');
    await this.lease.revoke();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.stateValue !== 'alive') return;
    this.timer = setTimeout(() => void this.state, Math.max(0, this.untilMs - this.now()) + 1);
    this.timer.unref();
  }

  private end(state: LeaseState): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    if (this.stateValue === 'alive') this.stateValue = state;
  }

  private lose(reason: string): void {
    if (this.stateValue !== 'alive') return;
    this.lostReason = reason;
    this.end('lost');
    // stop renewing: the holder has already acted on the loss; a new HostLease starts over
    this.lease.revoke().catch(() => undefined); // best effort: a lost lease is usually gone in etcd already
    for (const fn of this.lostHandlers.splice(0)) {
      try { fn(reason); } catch { /* a handler's failure must not stop the others */ }
    }
  }
}
