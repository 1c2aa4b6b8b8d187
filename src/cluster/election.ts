/**
 * Election: which agent leads (writes placements). The leader key holds the leader's name and
 * is attached to its HostLease, so it vanishes when the leader's lease ends. Campaigning puts
 * the key only if it does not exist (txn: createRevision == 0); whoever's put succeeds leads,
 * and remembers the key's create revision. The others watch the key and try again when it is
 * deleted.
 *
 * Leader writes are guarded: a txn that runs only if the leader key's createRevision is still
 * ours. A stale leader (its lease expired, someone else won since) therefore cannot overwrite;
 * its write fails with NotLeaderError. Leadership also ends locally the moment the lease
 * counts as lost (HostLease.alive), before any write is tried.
 */
import { LEADER_KEY } from './keys.js';
import type { HostLease } from './lease.js';
import type { Guard, Store, StoreWatch, TxnWrite, WatchEvent } from './store.js';

export type NotLeaderReason = 'not-leader' | 'lease-lost' | 'superseded' | 'resigned';

/** A leader-only action was refused: this agent is not (or no longer) the leader. */
export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
  constructor(readonly reason: NotLeaderReason, detail: string) {
    super(`not the leader (${reason}): ${detail}`);
  }
}

export interface LeaderInfo {
  name: string;
  createRevision: string;
}

export interface ElectionOptions {
  /** This agent's name, the leader key's value when it leads. */
  name: string;
  /** Called on every change of this agent's leadership, with one sentence of why. */
  onLeadership?: (leading: boolean, why: string) => void;
}

export class Election {
  private ours: string | undefined;
  private watch: StoreWatch | undefined;
  private waiting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private done = false;

  constructor(private readonly store: Store, private readonly lease: HostLease, private readonly opts: ElectionOptions) {
    lease.onLost((why) => this.step(`lease lost: ${why}`, new NotLeaderError('lease-lost', why)));
  }

  /** True while this agent leads: it won, the key is still its own, and its lease is alive. */
  get isLeader(): boolean {
    return this.ours !== undefined && this.lease.alive;
  }

  /** The leader key's create revision while leading (what guarded writes compare). */
  get leaderRevision(): string | undefined {
    return this.isLeader ? this.ours : undefined;
  }

  /** The current leader as etcd has it, or undefined. */
  async leader(): Promise<LeaderInfo | undefined> {
    const kv = await this.store.get(LEADER_KEY);
    return kv ? { name: kv.value, createRevision: kv.createRevision } : undefined;
  }

  /**
   * Resolves once this agent leads; until then waits for the leader key to go away. Rejects
   * with NotLeaderError if the lease is lost or resign() is called first.
   */
  async campaign(): Promise<void> {
    if (this.done) throw new NotLeaderError('resigned', 'this election was resigned; start a new one');
    if (this.isLeader) return;
    const won = new Promise<void>((resolve, reject) => { this.waiting = { resolve, reject }; });
    won.catch(() => { /* awaited below; may settle before that */ });
    try {
      // watch first, then try: a delete after a failed try is then always seen
      this.watch ??= await this.store.watchKey(LEADER_KEY, (e) => this.onEvent(e));
    } catch (e) {
      this.waiting = undefined;
      throw e;
    }
    await this.tryOnce();
    return won;
  }

  /** Gives leadership up (deleting the leader key if it is still ours) and stops campaigning. */
  async resign(): Promise<void> {
    this.done = true;
    const ours = this.ours;
    this.step('resigned', new NotLeaderError('resigned', 'resign() was called'));
    await this.watch?.cancel();
    this.watch = undefined;
    if (ours !== undefined) {
      // best effort: the key is on our lease and goes with it if etcd cannot be reached now
      await this.store.txn([{ key: LEADER_KEY, target: 'Create', op: '==', value: ours }], [{ delete: LEADER_KEY }]).catch(() => undefined);
    }
  }

  /**
   * Runs writes as the leader: only if the leader key's createRevision is still ours (and
   * every extra guard holds). Throws NotLeaderError when this agent does not lead or a newer
   * leader has replaced it; resolves { succeeded: false } when only an extra guard failed.
   */
  async write(writes: readonly TxnWrite[], extraGuards: readonly Guard[] = []): Promise<{ succeeded: boolean; revision: string }> {
    const ours = this.ours;
    if (ours === undefined) throw new NotLeaderError('not-leader', `${this.opts.name} has not won the election`);
    if (!this.lease.alive) throw new NotLeaderError('lease-lost', `the lease of ${this.opts.name} is no longer surely alive`);
    const res = await leaderTxn(this.store, ours, writes, extraGuards);
    if (res.succeeded) return res;
    const now = await this.leader();
    if (now?.createRevision === ours) return res;
    const why = now ? `${now.name} leads since revision ${now.createRevision}` : 'the leader key is gone';
    this.step(`superseded: ${why}`, new NotLeaderError('superseded', why));
    throw new NotLeaderError('superseded', why);
  }

  async putJson(key: string, value: unknown): Promise<string> {
    return (await this.write([{ put: key, value: JSON.stringify(value) }])).revision;
  }

  async delete(key: string): Promise<string> {
    return (await this.write([{ delete: key }])).revision;
  }

  private async tryOnce(): Promise<void> {
    if (!this.waiting || this.ours !== undefined) return;
    if (!this.lease.alive) return this.step('lease lost before campaigning', new NotLeaderError('lease-lost', 'the lease is no longer alive'));
    try {
      const res = await this.store.txn(
        [{ key: LEADER_KEY, target: 'Create', op: '==', value: 0 }],
        [{ put: LEADER_KEY, value: this.opts.name, lease: this.lease.id }],
      );
      if (res.succeeded) return this.win(res.revision, 'the leader key was free');
      // the key may be ours already (a second campaign on the same lease)
      const kv = await this.store.get(LEADER_KEY);
      if (kv && kv.lease === this.lease.id) return this.win(kv.createRevision, 'the leader key is already on our lease');
    } catch {
      // etcd unreachable: try again shortly (the lease's loss ends the wait meanwhile)
      if (this.waiting) setTimeout(() => void this.tryOnce(), 500).unref();
    }
  }

  private win(revision: string, why: string): void {
    if (!this.lease.alive) return this.step('won, but the lease was lost', new NotLeaderError('lease-lost', 'lease lost while winning'));
    this.ours = revision;
    this.opts.onLeadership?.(true, `${this.opts.name} leads since revision ${revision}: ${why}`);
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve();
  }

  private onEvent(e: WatchEvent): void {
    if (e.type === 'delete') {
      if (this.ours !== undefined) this.step('the leader key was deleted', new NotLeaderError('superseded', 'the leader key was deleted'));
      else void this.tryOnce();
    } else if (this.ours !== undefined && e.createRevision !== this.ours) {
      this.step(`${e.value} took the leader key`, new NotLeaderError('superseded', `${e.value} leads since revision ${e.createRevision}`));
    }
  }

  /** Leadership (or the wait for it) ends. */
  private step(why: string, err: NotLeaderError): void {
    const was = this.ours !== undefined;
    this.ours = undefined;
    if (was) this.opts.onLeadership?.(false, `${this.opts.name} no longer leads: ${why}`);
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }
}

/** The guarded txn itself: writes run only if the leader key was created at `leaderRevision`. */
export function leaderTxn(store: Store, leaderRevision: string, writes: readonly TxnWrite[], extraGuards: readonly Guard[] = []): Promise<{ succeeded: boolean; revision: string }> {
  return store.txn([leaderGuard(leaderRevision), ...extraGuards], writes);
}

export function leaderGuard(leaderRevision: string): Guard {
  return { key: LEADER_KEY, target: 'Create', op: '==', value: leaderRevision };
}
