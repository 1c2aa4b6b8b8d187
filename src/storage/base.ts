/**
 * What every storage driver shares (STYLE.md §7, Incus's common driver): a base class whose
 * operations all fail with a NotSupportedError naming the driver and the operation until a
 * driver implements them, the paths of a pool under its mountpoint, the send stream of a
 * spawned tool; and defineDriver(), which turns a driver's pool functions into the registry's
 * factory and checks its tools once before the first of them runs.
 */
import type { Readable } from 'node:stream';
import { NotSupportedError } from '../sys/errors.js';
import { spawnStream } from '../sys/exec.js';
import type { SnapshotRef } from '../sys/names.js';
import type {
  DatasetInfo, DiskUse, DriverFactory, DriverInfo, DriverName, PoolContext, PoolCreateRequest, PoolRecord, SendStream, SnapshotInfo, SpaceUsage, StorageDriver,
} from './driver.js';
import { datasetPathIn } from './paths.js';
import { hostTools, type ToolCheck, type ToolReq } from './tools.js';

export type Spawn = typeof spawnStream;

/** An operation a driver does not implement (or not in the way asked). */
export class DriverNotSupportedError extends NotSupportedError {
  constructor(readonly driver: DriverName, readonly operation: string, why?: string) {
    super(`${operation} on a ${driver} pool`, why ?? `the ${driver} storage driver does not implement it`);
  }
}

export abstract class StorageDriverBase implements StorageDriver {
  abstract readonly info: DriverInfo;

  constructor(
    protected readonly ctx: PoolContext,
    readonly pool: PoolRecord,
    protected readonly spawn: Spawn = spawnStream,
  ) {}

  /** Directory under which datasets are visible. */
  protected get root(): string {
    return this.pool.mountpoint;
  }

  /** The error for `operation`, naming this driver; `why` says what to do instead. */
  protected notSupported(operation: string, why?: string): DriverNotSupportedError {
    return new DriverNotSupportedError(this.info.name, operation, why);
  }

  /** A send stream of `argv`'s stdout; its `done` rejects with the tool's failure, classified. */
  protected toolStream(argv: readonly string[], classify: (e: unknown) => unknown, killSignal: NodeJS.Signals): SendStream {
    const proc = this.spawn(argv);
    const done = proc.done.then(() => undefined, (e: unknown) => { throw classify(e); });
    done.catch(() => {}); // not dropped: the caller awaits it, maybe late (after its consumer failed)
    return { stream: proc.stdout, done, abort: () => proc.kill(killSignal) };
  }

  // --- paths: every driver shows a dataset as a directory under the pool's mountpoint ---

  datasetPath(ds: string): string {
    return datasetPathIn(this.root, ds);
  }

  snapshotPath(_ref: SnapshotRef): string {
    throw this.notSupported('snapshotPath');
  }

  // --- datasets ---

  async createDataset(_ds: string): Promise<DatasetInfo> {
    throw this.notSupported('createDataset');
  }

  async destroyDataset(_ds: string, _opts?: { keepSnapshots?: boolean }): Promise<void> {
    throw this.notSupported('destroyDataset');
  }

  async datasetExists(_ds: string): Promise<boolean> {
    throw this.notSupported('datasetExists');
  }

  async listDatasets(): Promise<DatasetInfo[]> {
    throw this.notSupported('listDatasets');
  }

  // --- snapshots ---

  async createSnapshot(_ref: SnapshotRef): Promise<SnapshotInfo> {
    throw this.notSupported('createSnapshot');
  }

  async destroySnapshot(_ref: SnapshotRef): Promise<void> {
    throw this.notSupported('destroySnapshot');
  }

  async listSnapshots(_ds?: string): Promise<SnapshotInfo[]> {
    throw this.notSupported('listSnapshots');
  }

  async snapshotExists(_ref: SnapshotRef): Promise<boolean> {
    throw this.notSupported('snapshotExists');
  }

  async rollback(_ref: SnapshotRef): Promise<void> {
    throw this.notSupported('rollback');
  }

  async clone(_ref: SnapshotRef, _newDataset: string): Promise<DatasetInfo> {
    throw this.notSupported('clone');
  }

  // --- space ---

  async usage(_target: string | SnapshotRef): Promise<SpaceUsage> {
    throw this.notSupported('usage');
  }

  async setDiskLimit(_ds: string, _bytes: number | null): Promise<void> {
    throw this.notSupported('a disk limit', this.info.diskLimitNote);
  }

  async diskUse(_ds: string): Promise<DiskUse> {
    throw this.notSupported('disk use', this.info.diskLimitNote);
  }

  // --- migration ---

  send(_ref: SnapshotRef, _parent?: SnapshotRef): SendStream {
    throw this.notSupported('send');
  }

  async receive(_input: Readable, _target: SnapshotRef, _parent?: SnapshotRef): Promise<SnapshotInfo> {
    throw this.notSupported('receive');
  }
}

/** What a driver module provides; defineDriver() makes the registry's factory of it. */
export interface DriverSpec {
  info: DriverInfo;
  /** Tools the driver runs, with the Debian package that provides each. */
  tools: readonly ToolReq[];
  createPool(ctx: PoolContext, req: PoolCreateRequest): Promise<PoolRecord>;
  open(ctx: PoolContext, record: PoolRecord): Promise<StorageDriver>;
  destroyPool(ctx: PoolContext, record: PoolRecord): Promise<void>;
}

/** The factory of a driver: each pool operation first checks the driver's tools (once, through `tools`). */
export function defineDriver(spec: DriverSpec, tools: ToolCheck = hostTools): DriverFactory {
  const check = () => tools.check(spec.info.name, spec.tools);
  return {
    name: spec.info.name,
    info: spec.info,
    tools: spec.tools,
    async createPool(ctx, req) {
      await check();
      return spec.createPool(ctx, req);
    },
    async open(ctx, record) {
      await check();
      return spec.open(ctx, record);
    },
    async destroyPool(ctx, record) {
      await check();
      return spec.destroyPool(ctx, record);
    },
  };
}
