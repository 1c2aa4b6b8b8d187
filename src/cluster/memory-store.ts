/**
 * A Store (store.ts) in memory, with etcd's semantics where cellblock relies on them: one
 * revision counter for every write, create/mod revisions per key, leases whose end deletes
 * their keys, guarded transactions, watches delivered asynchronously (as etcd's are) and an
 * etcd member list with learners. Unit tests of cluster operations, joins and routes run on
 * it; `expire(lease)` is what etcd does when a lease's TTL passes, and `failNext` makes the
 * next calls of one method fail, as an unreachable etcd would.
 */
import { jsonByName, jsonEntries, type Guard, type JsonEntry, type KeyValue, type Member, type PrefixRead, type Store, type StoreWatch, type TxnWrite, type WatchEvent } from './store.js';

interface Watcher { prefix: string; exact: boolean; fn: (e: WatchEvent) => void }

export class MemoryStore implements Store {
  private rev = 1;
  private leaseSeq = 100;
  private memberSeq = 1;
  readonly kvs = new Map<string, KeyValue>();
  private readonly watchers = new Set<Watcher>();
  private readonly leases = new Map<string, NodeJS.Timeout | undefined>();
  /** etcd's member list; tests may edit it. */
  readonly memberList: Member[] = [];
  /** Method name -> errors its next calls throw (first in, first thrown). */
  private readonly failures = new Map<string, Error[]>();
  closed = false;

  /** Watches not cancelled yet. */
  get openWatches(): number {
    return this.watchers.size;
  }

  get revision(): string {
    return String(this.rev);
  }

  /** The next call of `method` throws err (queue several by calling again). */
  failNext(method: keyof Store, err: Error): void {
    const q = this.failures.get(method) ?? [];
    q.push(err);
    this.failures.set(method, q);
  }

  private check(method: keyof Store): void {
    const err = this.failures.get(method)?.shift();
    if (err) throw err;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.check('get');
    return this.kvs.get(key);
  }

  async getString(key: string): Promise<string | undefined> {
    return (await this.get(key))?.value;
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const kv = await this.get(key);
    return kv ? (JSON.parse(kv.value) as T) : undefined;
  }

  async getPrefix(prefix: string): Promise<PrefixRead> {
    this.check('getPrefix');
    const kvs = [...this.kvs.values()].filter((kv) => kv.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
    return { kvs, revision: String(this.rev) };
  }

  async listJson<T>(prefix: string): Promise<JsonEntry<T>[]> {
    return jsonEntries<T>((await this.getPrefix(prefix)).kvs);
  }

  async mapJson<T>(prefix: string): Promise<Map<string, T>> {
    return jsonByName<T>((await this.getPrefix(prefix)).kvs);
  }

  async put(key: string, value: string, lease?: string): Promise<string> {
    this.check('put');
    this.apply([{ put: key, value, ...(lease !== undefined ? { lease } : {}) }]);
    return String(this.rev);
  }

  async putJson(key: string, value: unknown, lease?: string): Promise<string> {
    return this.put(key, JSON.stringify(value), lease);
  }

  async delete(key: string): Promise<boolean> {
    this.check('delete');
    const had = this.kvs.has(key);
    this.apply([{ delete: key }]);
    return had;
  }

  async deletePrefix(prefix: string): Promise<number> {
    this.check('deletePrefix');
    const keys = [...this.kvs.keys()].filter((k) => k.startsWith(prefix));
    this.apply(keys.map((k) => ({ delete: k })));
    return keys.length;
  }

  async txn(guards: readonly Guard[], writes: readonly TxnWrite[]): Promise<{ succeeded: boolean; revision: string }> {
    this.check('txn');
    if (guards.length === 0) throw new Error('Store.txn: at least one guard is required');
    const ok = guards.every((g) => this.holds(g));
    if (ok) this.apply(writes);
    return { succeeded: ok, revision: String(this.rev) };
  }

  async batch(writes: readonly TxnWrite[]): Promise<{ revision: string }> {
    this.check('batch');
    this.apply(writes);
    return { revision: String(this.rev) };
  }

  private holds(g: Guard): boolean {
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
  }

  async watchPrefix(prefix: string, fn: (e: WatchEvent) => void): Promise<StoreWatch> {
    this.check('watchPrefix');
    return this.watch({ prefix, exact: false, fn });
  }

  async watchKey(key: string, fn: (e: WatchEvent) => void): Promise<StoreWatch> {
    this.check('watchKey');
    return this.watch({ prefix: key, exact: true, fn });
  }

  /** A lease; with ttlSeconds > 0 it expires by itself after that long (unref'd timer). */
  async grantLease(ttlSeconds: number): Promise<string> {
    this.check('grantLease');
    const id = String(++this.leaseSeq);
    const timer = ttlSeconds > 0 ? setTimeout(() => this.expire(id), ttlSeconds * 1000) : undefined;
    timer?.unref();
    this.leases.set(id, timer);
    return id;
  }

  /** What etcd does when a lease ends: every key on it is deleted. */
  expire(lease: string): void {
    const t = this.leases.get(lease);
    if (t) clearTimeout(t);
    this.leases.delete(lease);
    this.apply([...this.kvs.values()].filter((kv) => kv.lease === lease).map((kv) => ({ delete: kv.key })));
  }

  async members(): Promise<Member[]> {
    this.check('members');
    return this.memberList.map((m) => ({ ...m, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs] }));
  }

  /** Adds a started voting member (the first hosts of a test cluster). */
  addMember(name: string, address: string): Member {
    const m: Member = { id: String(++this.memberSeq), name, peerURLs: [`https://${address}:2380`], clientURLs: [`https://${address}:2379`], learner: false };
    this.memberList.push(m);
    return m;
  }

  async addLearner(peerURL: string): Promise<string> {
    this.check('addLearner');
    const id = String(++this.memberSeq);
    this.memberList.push({ id, name: '', peerURLs: [peerURL], clientURLs: [], learner: true });
    return id;
  }

  async promoteLearner(id: string): Promise<void> {
    this.check('promoteLearner');
    const m = this.memberList.find((x) => x.id === id);
    if (!m) throw new Error('etcdserver: member not found');
    m.learner = false;
  }

  async removeMember(id: string): Promise<void> {
    this.check('removeMember');
    const i = this.memberList.findIndex((x) => x.id === id);
    if (i < 0) throw new Error('etcdserver: member not found');
    this.memberList.splice(i, 1);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watchers.clear();
    for (const t of this.leases.values()) if (t) clearTimeout(t);
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
    for (const e of events) {
      for (const w of [...this.watchers]) {
        if (w.exact ? e.key === w.prefix : e.key.startsWith(w.prefix)) queueMicrotask(() => { if (this.watchers.has(w)) w.fn(e); });
      }
    }
  }
}
