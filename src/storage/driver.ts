/**
 * The one storage interface (DESIGN.md "pool", "dataset", "snapshot"), modelled on Incus's
 * drivers: a capabilities object says what a driver can do; operations are grouped by
 * concern (pool, datasets, snapshots, migration, space). btrfs, zfs and dir implement it.
 *
 * Naming inside a pool:
 * - a dataset is a "/"-separated path of names (src/sys/names.ts checkDataset): `images/site/v1`,
 *   `jails/web1`. Intermediate segments are plain directories where the driver needs them.
 * - a snapshot is `dataset@name`, read-only, and outlives nothing but its dataset unless the
 *   driver says `snapshotsOutliveDataset`.
 */
import type { Readable } from 'node:stream';
import type { Exec } from '../sys/exec.js';
import type { SnapshotRef } from '../sys/names.js';

export type DriverName = 'btrfs' | 'dir' | 'zfs';
export const DRIVER_NAMES: readonly DriverName[] = ['btrfs', 'dir', 'zfs'];

export interface DriverInfo {
  name: DriverName;
  /** Snapshots and clones are O(1) and share blocks with their origin. */
  copyOnWrite: boolean;
  /** send() can produce a stream relative to a parent snapshot the receiver already has. */
  incrementalSend: boolean;
  /** What send() writes; a stream is only received by a driver with the same format. */
  streamFormat: 'btrfs-send' | 'zfs-send' | 'tar';
  /** destroyDataset(ds, { keepSnapshots: true }) really frees the head (btrfs, dir); zfs keeps it read-only. */
  snapshotsOutliveDataset: boolean;
  /** One line for `pool ls` about what this driver costs (e.g. "full copies, no sharing"). */
  note: string;
  /**
   * How the driver enforces a dataset's disk limit (setDiskLimit): 'referenced' (every byte the
   * dataset refers to counts, shared with a snapshot or not: btrfs qgroups, zfs refquota), or
   * null when it cannot (dir), with `diskLimitNote` saying so.
   */
  diskLimit: 'referenced' | null;
  /** One sentence about disk limits on this driver, for `host check` and the docs. */
  diskLimitNote: string;
}

/** Where the pool's bytes live. Recorded in DATA_DIR/pools/NAME.json. */
export type PoolSource =
  | { kind: 'loop'; file: string; size: number }
  | { kind: 'path'; path: string }
  | { kind: 'zfs'; dataset: string };

export interface PoolRecord {
  name: string;
  driver: DriverName;
  /** Directory under which datasets are visible (btrfs and dir: the pool root; zfs: the root dataset's mountpoint). */
  mountpoint: string;
  source: PoolSource;
  /** Loop device last attached for a loop-file pool (informational: re-resolved on open). */
  loopDevice?: string;
  /** Whether cellblock made the mount (and so must unmount it on destroy). */
  mountedByUs: boolean;
  createdAt: string;
}

export interface PoolCreateRequest {
  name: string;
  /** Bytes for a new loop file (btrfs). */
  size?: number;
  /** An existing btrfs mount (btrfs), a directory (dir), or a zfs dataset such as tank/cellblock (zfs). */
  path?: string;
}

export interface DatasetInfo {
  name: string;
  path: string;
  /** `dataset@snapshot` this dataset was cloned from, if the driver knows. */
  origin?: string;
}

export interface SnapshotInfo {
  dataset: string;
  name: string;
  /** Readable path of the snapshot's files. */
  path: string;
  createdAt: string;
}

export interface SpaceUsage {
  /** All bytes the dataset/snapshot refers to. */
  referenced: number;
  /** Bytes only it holds: freed if it were removed. */
  exclusive: number;
}

/** A dataset's disk limit and what counts against it. */
export interface DiskUse {
  /** Bytes counted against the limit. */
  used: number;
  /** null: no limit set. */
  limitBytes: number | null;
}

export interface SendStream {
  stream: Readable;
  /** Resolves when the sending tool exited successfully; rejects with ExecError otherwise. */
  done: Promise<void>;
  /** Stops the sending tool (used when the consumer fails half-way). */
  abort(): void;
}

export interface PoolContext {
  exec: Exec;
  dataDir: string;
}

export interface StorageDriver {
  readonly info: DriverInfo;
  readonly pool: PoolRecord;

  // datasets
  createDataset(ds: string): Promise<DatasetInfo>;
  /** Removes the dataset. Its snapshots too, unless keepSnapshots (see DriverInfo.snapshotsOutliveDataset). Missing = no-op. */
  destroyDataset(ds: string, opts?: { keepSnapshots?: boolean }): Promise<void>;
  datasetExists(ds: string): Promise<boolean>;
  datasetPath(ds: string): string;
  listDatasets(): Promise<DatasetInfo[]>;

  // snapshots
  /** A read-only point-in-time copy; O(1) on CoW drivers. Throws ExistsError if it exists. */
  createSnapshot(ref: SnapshotRef): Promise<SnapshotInfo>;
  /** Missing = no-op. */
  destroySnapshot(ref: SnapshotRef): Promise<void>;
  /** All snapshots, or those of one dataset; sorted by dataset, then creation time. */
  listSnapshots(ds?: string): Promise<SnapshotInfo[]>;
  snapshotExists(ref: SnapshotRef): Promise<boolean>;
  snapshotPath(ref: SnapshotRef): string;
  /** Makes the dataset's contents those of the snapshot. Later snapshots of it remain. */
  rollback(ref: SnapshotRef): Promise<void>;
  /** A new writable dataset whose contents start as the snapshot's (CoW where possible). */
  clone(ref: SnapshotRef, newDataset: string): Promise<DatasetInfo>;

  // space
  usage(target: string | SnapshotRef): Promise<SpaceUsage>;
  /**
   * Limits what the dataset may hold to `bytes` (null lifts the limit); a write past it fails
   * with EDQUOT ("Disk quota exceeded"). Takes effect at once, also on a dataset in use.
   * A DriverNotSupportedError where info.diskLimit is null.
   */
  setDiskLimit(ds: string, bytes: number | null): Promise<void>;
  /** The dataset's limit and use as the file system accounts them (cheap: no walk of the files). */
  diskUse(ds: string): Promise<DiskUse>;

  // migration
  /** A stream of the snapshot, incremental against `parent` where the driver can. */
  send(ref: SnapshotRef, parent?: SnapshotRef): SendStream;
  /**
   * Receives a stream made by send() of the same driver kind into snapshot `target`
   * (its dataset's head need not exist). On any failure nothing is left behind: the partial
   * receive is removed before the error is thrown. `parent` is the snapshot the stream is
   * relative to, which must exist here.
   */
  receive(input: Readable, target: SnapshotRef, parent?: SnapshotRef): Promise<SnapshotInfo>;
}

export interface DriverFactory {
  readonly name: DriverName;
  readonly info: DriverInfo;
  /** Tools this driver runs, with the Debian package that provides each. */
  readonly tools: readonly { tool: string; pkg: string }[];
  /** Creates the pool's storage (loop file, filesystem, mount, root dataset), reverting on failure. */
  createPool(ctx: PoolContext, req: PoolCreateRequest): Promise<PoolRecord>;
  /** Opens an existing pool, re-attaching/mounting it if needed (after a reboot). */
  open(ctx: PoolContext, record: PoolRecord): Promise<StorageDriver>;
  /** Removes everything createPool made: datasets, mount, loop device, loop file. */
  destroyPool(ctx: PoolContext, record: PoolRecord): Promise<void>;
}
