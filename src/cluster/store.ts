/**
 * The cluster state's store: what every part of cellblock may do with etcd, as an interface.
 * `EtcdStore` (etcd-store.ts) is the real one over the etcd3 client; `MemoryStore`
 * (memory-store.ts) keeps the same semantics in memory (revisions, leases, guarded txns,
 * watches delivered asynchronously) so cluster operations, joins and routes are unit-tested
 * without etcd. Keys are relative to KEY_PREFIX (keys.ts); revisions are etcd's int64s as
 * decimal strings.
 */
import { lastSegment } from './keys.js';

export interface KeyValue {
  key: string;
  value: string;
  createRevision: string;
  modRevision: string;
  /** ID of the lease the key is attached to, '0' for none. */
  lease: string;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** '' for a delete. */
  value: string;
  modRevision: string;
  /** '0' for a delete. */
  createRevision: string;
}

export interface PrefixRead {
  kvs: KeyValue[];
  /** The store's revision when read: watch from revision+1 to see every later change. */
  revision: string;
}

export interface StoreWatch {
  cancel(): Promise<void>;
}

/** A comparison a guarded transaction requires (etcd's Compare on one key). */
export interface Guard {
  key: string;
  target: 'Create' | 'Mod' | 'Version' | 'Value' | 'Lease';
  op: '==' | '!=' | '>' | '<';
  value: string | number;
}

/** One write of a transaction. */
export type TxnWrite =
  | { put: string; value: string; lease?: string }
  | { delete: string };

/** An etcd member as `member list` shows it. */
export interface Member {
  id: string;
  /** '' while an added member has not started yet. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  learner: boolean;
}

/** A JSON value of a prefix read with its key. */
export interface JsonEntry<T> {
  key: string;
  /** The key's last segment (the host of hosts/NAME, the service of services/STACK/NAME). */
  name: string;
  value: T;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  getString(key: string): Promise<string | undefined>;
  getJson<T>(key: string): Promise<T | undefined>;
  /** Every key under prefix, sorted by key, and the revision they were read at. */
  getPrefix(prefix: string): Promise<PrefixRead>;
  /** The JSON values under prefix, sorted by key. */
  listJson<T>(prefix: string): Promise<JsonEntry<T>[]>;
  /** The JSON values under prefix by the last segment of their keys. */
  mapJson<T>(prefix: string): Promise<Map<string, T>>;
  /** Puts value; resolves with the store's revision after the write. */
  put(key: string, value: string, lease?: string): Promise<string>;
  putJson(key: string, value: unknown, lease?: string): Promise<string>;
  /** Deletes key; true if it existed. */
  delete(key: string): Promise<boolean>;
  deletePrefix(prefix: string): Promise<number>;
  /** Runs writes only if every guard holds, atomically. */
  txn(guards: readonly Guard[], writes: readonly TxnWrite[]): Promise<{ succeeded: boolean; revision: string }>;
  /** Runs writes atomically, unconditionally. */
  batch(writes: readonly TxnWrite[]): Promise<{ revision: string }>;
  /**
   * Calls onEvent for every put and delete under prefix, from `fromRevision` if given (use a
   * PrefixRead's revision + 1), else from now. Resolves once the watch is established.
   */
  watchPrefix(prefix: string, onEvent: (e: WatchEvent) => void, opts?: { fromRevision?: string }): Promise<StoreWatch>;
  watchKey(key: string, onEvent: (e: WatchEvent) => void, opts?: { fromRevision?: string }): Promise<StoreWatch>;
  /** A lease of ttlSeconds that nobody keeps alive (join tokens): keys put on it go when it ends. */
  grantLease(ttlSeconds: number): Promise<string>;
  /** etcd's members (linearizable unless `fast`). */
  members(opts?: { fast?: boolean }): Promise<Member[]>;
  /** Adds a member as a learner (retrying while etcd calls the cluster unhealthy, up to 30 s); its id. */
  addLearner(peerURL: string): Promise<string>;
  /** Promotes a learner once it has caught up (retrying up to 60 s or until aborted). */
  promoteLearner(id: string, signal?: AbortSignal): Promise<void>;
  removeMember(id: string): Promise<void>;
  /** Cancels the watches still open, then closes the client. */
  close(): Promise<void>;
}

/** revision + 1, for watching right after a read. */
export function nextRevision(revision: string): string {
  return (BigInt(revision) + 1n).toString();
}

/** A prefix read's values parsed as JSON, with their keys and last segments. */
export function jsonEntries<T>(kvs: readonly { key: string; value: string }[]): JsonEntry<T>[] {
  return kvs.map((kv) => ({ key: kv.key, name: lastSegment(kv.key), value: JSON.parse(kv.value) as T }));
}

/** The values of jsonEntries by name. */
export function jsonByName<T>(kvs: readonly { key: string; value: string }[]): Map<string, T> {
  return new Map(jsonEntries<T>(kvs).map((e) => [e.name, e.value]));
}
