/**
 * An in-memory stand-in for cluster/store.ts's Store (the part the leader, the election and
 * the reconciler use), and for HostLease: keys with revisions and leases, guarded txns,
 * watches that see puts and deletes, and a lease a test can lose (its keys go, as in etcd).
 */
import type { HostLease } from '../../src/cluster/lease.js';
import type { Guard, KeyValue, PrefixRead, Store, StoreWatch, TxnWrite, WatchEvent } from '../../src/cluster/store.js';

interface Watcher { prefix: string; exact: boolean; fn: (e: WatchEvent) => void }

export class FakeStore {
  private rev = 1;
  readonly kvs = new Map<string, KeyValue>();
  private readonly watchers = new Set<Watcher>();

  /** Typed as the real Store for the code under test. */
  get store(): Store {
    return this as unknown as Store;
  }

  /** Watches not cancelled yet. */
  get openWatches(): number {
    return this.watchers.size;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return this.kvs.get(key);
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const kv = this.kvs.get(key);
    return kv ? (JSON.parse(kv.value) as T) : undefined;
  }

  async getPrefix(prefix: string): Promise<PrefixRead> {
    const kvs = [...this.kvs.values()].filter((kv) => kv.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
    return { kvs, revision: String(this.rev) };
  }

  async put(key: string, value: string, lease?: string): Promise<string> {
    this.apply([{ put: key, value, ...(lease !== undefined ? { lease } : {}) }]);
    return String(this.rev);
  }

  async putJson(key: string, value: unknown, lease?: string): Promise<string> {
    return this.put(key, JSON.stringify(value), lease);
  }

  async delete(key: string): Promise<boolean> {
    const had = this.kvs.has(key);
    this.apply([{ delete: key }]);
    return had;
  }

  async txn(guards: readonly Guard[], writes: readonly TxnWrite[]): Promise<{ succeeded: boolean; revision: string }> {
    const ok = guards.every((g) => {
      const kv = this.kvs.get(g.key);
      const have = g.target === 'Create' ? Number(kv?.createRevision ?? 0) : g.target === 'Mod' ? Number(kv?.modRevision ?? 0)
        : g.target === 'Value' ? kv?.value : g.target === 'Lease' ? kv?.lease ?? '0' : kv ? 1 : 0;
      const want = typeof have === 'number' ? Number(g.value) : String(g.value);
      switch (g.op) {
        case '==': return have === want;
        case '!=': return have !== want;
        case '>': return (have as number) > (want as number);
        case '<': return (have as number) < (want as number);
      }
    });
    if (ok) this.apply(writes);
    return { succeeded: ok, revision: String(this.rev) };
  }

  async watchPrefix(prefix: string, fn: (e: WatchEvent) => void): Promise<StoreWatch> {
    return this.watch({ prefix, exact: false, fn });
  }

  async watchKey(key: string, fn: (e: WatchEvent) => void): Promise<StoreWatch> {
    return this.watch({ prefix: key, exact: true, fn });
  }

  /** What etcd does when a lease ends: every key on it is deleted. */
  expire(lease: string): void {
    this.apply([...this.kvs.values()].filter((kv) => kv.lease === lease).map((kv) => ({ delete: kv.key })));
  }

  private watch(w: Watcher): StoreWatch {
    this.watchers.add(w);
    return { cancel: async () => { this.watchers.delete(w); } };
  }

  private apply(writes: readonly TxnWrite[]): void {
    if (writes.length === 0) return;
    this.rev++;
    const rev = String(this.rev);
    const events: WatchEvent[] = [];
    for (const w of writes) {
      if ('delete' in w) {
        if (!this.kvs.delete(w.delete)) continue;
        events.push({ type: 'delete', key: w.delete, value: '', modRevision: rev, createRevision: '0' });
      } else {
        const createRevision = this.kvs.get(w.put)?.createRevision ?? rev;
        this.kvs.set(w.put, { key: w.put, value: w.value, createRevision, modRevision: rev, lease: w.lease ?? '0' });
        events.push({ type: 'put', key: w.put, value: w.value, modRevision: rev, createRevision });
      }
    }
    // delivered asynchronously, as etcd's are
    for (const e of events) {
      for (const w of [...this.watchers]) {
        if (w.exact ? e.key === w.prefix : e.key.startsWith(w.prefix)) queueMicrotask(() => { if (this.watchers.has(w)) w.fn(e); });
      }
    }
  }
}

let leases = 0;

/** A HostLease a test ends with lose() (which also expires its keys in the store). */
export class FakeLease {
  readonly id = String(100 + ++leases);
  alive = true;
  private readonly handlers: ((why: string) => void)[] = [];

  constructor(private readonly store: FakeStore) {}

  get lease(): HostLease {
    return this as unknown as HostLease;
  }

  onLost(fn: (why: string) => void): void {
    this.handlers.push(fn);
  }

  lose(): void {
    if (!this.alive) return;
    this.alive = false;
    this.store.expire(this.id);
    for (const fn of this.handlers.splice(0)) fn('test: lease lost');
  }
}

/** Resolves once cond() holds; rejects after ms. */
export async function until(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
