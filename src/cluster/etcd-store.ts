/**
 * The real Store (store.ts) over the `etcd3` client, working inside KEY_PREFIX ('/cellblock/'):
 * get/put/delete (strings and JSON), prefix reads with the revision they were read at, prefix
 * watches from a revision (read, then watch from revision+1: nothing is missed), guarded
 * transactions, and etcd's membership changes. Revisions are etcd's int64s as decimal
 * strings, as etcd3 hands them over. Host leases (lease.ts) use `leaseHandle`, which only
 * this store has: a lease kept alive by the client.
 */
import { noop } from 'cockatiel';
import { Etcd3, type IOptions, type Lease, type Namespace } from 'etcd3';
import { KEY_PREFIX } from './keys.js';
import { etcdErrorKind } from './etcd-errors.js';
import { jsonByName, jsonEntries, type Guard, type JsonEntry, type KeyValue, type Member, type PrefixRead, type Store, type StoreWatch, type TxnWrite, type WatchEvent } from './store.js';
import type { TlsMaterial } from './pki.js';

interface RawKv { key: Buffer; value: Buffer; create_revision: string; mod_revision: string; lease: string }

function strip(key: Buffer | string): string {
  const k = key.toString();
  // watch events and range results are already relative to the namespace in etcd3
  return k.startsWith(KEY_PREFIX) ? k.slice(KEY_PREFIX.length) : k;
}

function toKv(kv: RawKv): KeyValue {
  return {
    key: strip(kv.key),
    value: kv.value.toString(),
    createRevision: String(kv.create_revision),
    modRevision: String(kv.mod_revision),
    lease: String(kv.lease ?? '0'),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EtcdStore implements Store {
  private readonly ns: Namespace;
  private readonly watches = new Set<StoreWatch>();

  private constructor(private readonly client: Etcd3) {
    this.ns = client.namespace(KEY_PREFIX);
  }

  /** A client for the cluster's etcd at endpoints, with this host's TLS material when it has some. */
  static forHost(endpoints: string[], tls: TlsMaterial | undefined): EtcdStore {
    return EtcdStore.connect(endpoints, tls ? { credentials: { rootCertificate: tls.ca, certChain: tls.cert, privateKey: tls.key } } : {});
  }

  /** A client for etcd at endpoints (http://127.0.0.1:PORT, ...). */
  static connect(endpoints: string | string[], options: Omit<IOptions, 'hosts'> = {}): EtcdStore {
    // No per-host circuit breaker: etcd3's default opens after 3 failures and then refuses
    // every call for 5 s, which would cost the host its lease over one refused request.
    // With TLS, grpc-js would send the endpoint's IP address as the TLS server name, which Node
    // warns about on every connection (DEP0123: an IP is no server name). Every cluster
    // certificate carries DNS:localhost, so name that instead: the server must still present a
    // certificate of the cluster CA, which signs only the cluster's own hosts.
    const grpcOptions = options.credentials ? { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost', ...options.grpcOptions } : options.grpcOptions;
    return new EtcdStore(new Etcd3({ dialTimeout: 3000, ...options, ...(grpcOptions ? { grpcOptions } : {}), hosts: endpoints, faultHandling: { host: () => noop, ...options.faultHandling } }));
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.ns.get(key).exec();
    const kv = res.kvs[0] as RawKv | undefined;
    return kv ? toKv(kv) : undefined;
  }

  async getString(key: string): Promise<string | undefined> {
    return (await this.get(key))?.value;
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const kv = await this.get(key);
    return kv === undefined ? undefined : (JSON.parse(kv.value) as T);
  }

  /** Every key under prefix, sorted by key, and the revision they were read at. */
  async getPrefix(prefix: string): Promise<PrefixRead> {
    const res = await this.ns.getAll().prefix(prefix).sort('Key', 'Ascend').exec();
    return { kvs: (res.kvs as RawKv[]).map(toKv), revision: String(res.header.revision) };
  }

  async listJson<T>(prefix: string): Promise<JsonEntry<T>[]> {
    return jsonEntries<T>((await this.getPrefix(prefix)).kvs);
  }

  async mapJson<T>(prefix: string): Promise<Map<string, T>> {
    return jsonByName<T>((await this.getPrefix(prefix)).kvs);
  }

  /** Puts value; resolves with the store's revision after the write. */
  async put(key: string, value: string, lease?: string): Promise<string> {
    const b = this.ns.put(key).value(value);
    if (lease !== undefined) b.lease(lease);
    return String((await b.exec()).header.revision);
  }

  async putJson(key: string, value: unknown, lease?: string): Promise<string> {
    return this.put(key, JSON.stringify(value), lease);
  }

  /** Deletes key; true if it existed. */
  async delete(key: string): Promise<boolean> {
    const res = await this.ns.delete().key(key).exec();
    return Number(res.deleted) > 0;
  }

  async deletePrefix(prefix: string): Promise<number> {
    return Number((await this.ns.delete().prefix(prefix).exec()).deleted);
  }

  /**
   * Runs writes only if every guard holds, atomically. Resolves with whether they ran and
   * the store's revision after the transaction.
   */
  async txn(guards: readonly Guard[], writes: readonly TxnWrite[]): Promise<{ succeeded: boolean; revision: string }> {
    if (guards.length === 0) throw new Error('Store.txn: at least one guard is required');
    let b = this.ns.if(guards[0]!.key, guards[0]!.target, guards[0]!.op, guards[0]!.value);
    for (const g of guards.slice(1)) b = b.and(g.key, g.target, g.op, g.value);
    const res = await b.then(...this.ops(writes)).commit();
    return { succeeded: res.succeeded, revision: String(res.header.revision) };
  }

  private ops(writes: readonly TxnWrite[]) {
    return writes.map((w) => {
      if ('delete' in w) return this.ns.delete().key(w.delete);
      const p = this.ns.put(w.put).value(w.value);
      return w.lease !== undefined ? p.lease(w.lease) : p;
    });
  }

  /** Runs writes atomically, unconditionally (one etcd transaction without compares). */
  async batch(writes: readonly TxnWrite[]): Promise<{ revision: string }> {
    // etcd3 builds a transaction from a compare; a key's version is never below 0
    const res = await this.ns.if('leader', 'Version', '>', -1).then(...this.ops(writes)).commit();
    return { revision: String(res.header.revision) };
  }

  /**
   * Calls onEvent for every put and delete under prefix, from `fromRevision` if given (use a
   * PrefixRead's revision + 1), else from now. Resolves once the watch is established.
   */
  async watchPrefix(prefix: string, onEvent: (e: WatchEvent) => void, opts: { fromRevision?: string } = {}): Promise<StoreWatch> {
    return this.watch(this.ns.watch().prefix(prefix), onEvent, opts);
  }

  /** watchPrefix for one key. */
  async watchKey(key: string, onEvent: (e: WatchEvent) => void, opts: { fromRevision?: string } = {}): Promise<StoreWatch> {
    return this.watch(this.ns.watch().key(key), onEvent, opts);
  }

  private async watch(b: ReturnType<Namespace['watch']>, onEvent: (e: WatchEvent) => void, opts: { fromRevision?: string }): Promise<StoreWatch> {
    if (opts.fromRevision !== undefined) b = b.startRevision(opts.fromRevision);
    const w = await b.create();
    const ev = (type: WatchEvent['type'], kv: RawKv): WatchEvent => ({
      type,
      key: strip(kv.key),
      value: type === 'put' ? kv.value.toString() : '',
      modRevision: String(kv.mod_revision),
      createRevision: type === 'put' ? String(kv.create_revision) : '0',
    });
    w.on('put', (kv) => onEvent(ev('put', kv as RawKv)));
    w.on('delete', (kv) => onEvent(ev('delete', kv as RawKv)));
    const handle: StoreWatch = { cancel: async () => { this.watches.delete(handle); await w.cancel(); } };
    this.watches.add(handle);
    return handle;
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    return String(await this.ns.lease(ttlSeconds, { autoKeepAlive: false }).grant());
  }

  /** A lease that the client keeps alive (for HostLease): not granted yet. */
  leaseHandle(ttlSeconds: number): Lease {
    return this.ns.lease(ttlSeconds);
  }

  async members(opts: { fast?: boolean } = {}): Promise<Member[]> {
    const r = await this.client.cluster.memberList({ linearizable: !opts.fast });
    return (r.members ?? []).map((m) => ({ id: String(m.ID), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, learner: Boolean(m.isLearner) }));
  }

  async addLearner(peerURL: string): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const r = await this.client.cluster.memberAdd({ peerURLs: [peerURL], isLearner: true });
        return String(r.member.ID);
      } catch (e) {
        // a member change within seconds of another one is refused until the cluster settles
        if (etcdErrorKind(e) !== 'unhealthy-cluster' || Date.now() > deadline) throw e;
        await sleep(1000);
      }
    }
  }

  async promoteLearner(id: string, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (signal?.aborted) throw new Error('promotion abandoned: the member did not start');
      try {
        await this.client.cluster.memberPromote({ ID: id });
        return;
      } catch (e) {
        const kind = etcdErrorKind(e);
        if (kind === 'not-a-learner') return; // promoted already (a retry after a lost answer)
        if (!['learner-not-ready', 'unhealthy-cluster', 'unavailable'].includes(kind) || Date.now() > deadline) throw e;
        await sleep(300);
      }
    }
  }

  async removeMember(id: string): Promise<void> {
    await this.client.cluster.memberRemove({ ID: id });
  }

  /**
   * Cancels the watches still open, then closes the client. (etcd3 re-establishes a watch
   * whose stream broke, so one left open would keep the process alive after close.)
   */
  async close(): Promise<void> {
    // a watch whose stream is already gone cannot fail us more than closing the client does
    await Promise.all([...this.watches].map((w) => w.cancel().catch(() => undefined)));
    this.client.close();
  }
}
