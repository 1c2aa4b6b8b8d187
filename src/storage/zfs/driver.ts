/**
 * The zfs StorageDriver of one open pool: datasets are zfs filesystems under the pool's root
 * dataset, snapshots zfs snapshots, send/receive `zfs send` / `zfs receive` (./receive.ts).
 * Names and paths in ./layout.ts; every command is built in ./argv.ts and its failure
 * classified in ./classify.ts.
 *
 * What zfs cannot do as the interface asks, and what happens instead:
 * - destroyDataset(ds, { keepSnapshots: true }) of a dataset with snapshots keeps its head
 *   (a snapshot cannot outlive its filesystem): it becomes read-only and stops counting as a
 *   dataset; it is destroyed with its last snapshot (info.snapshotsOutliveDataset = false).
 * - rollback only to the most recent snapshot: `zfs rollback -r` to an older one would
 *   destroy the later ones, so that is refused with NotSupportedError.
 * - a snapshot a clone was made from cannot be destroyed before the clone.
 */
import type { Readable } from 'node:stream';
import { ExistsError, UserError } from '../../sys/errors.js';
import { checkDataset, type SnapshotRef } from '../../sys/names.js';
import { StorageDriverBase, type Spawn } from '../base.js';
import type { DatasetInfo, DiskUse, DriverInfo, PoolContext, PoolRecord, SendStream, SnapshotInfo, SpaceUsage } from '../driver.js';
import { formatRef as fmt } from '../paths.js';
import { noSnapshot, noDataset, datasetTaken, snapshotTaken, CLONE_FIX } from '../messages.js';
import * as argv from './argv.js';
import { classify, isKind, run } from './classify.js';
import * as layout from './layout.js';
import { checkRef, MARK } from './layout.js';
import { parseList, type ListRow } from './parse.js';
import { receiveSnapshot, type ZfsReceivePool } from './receive.js';

export const ZFS_INFO: DriverInfo = {
  name: 'zfs',
  copyOnWrite: true,
  incrementalSend: true,
  streamFormat: 'zfs-send',
  snapshotsOutliveDataset: false,
  note: 'copy-on-write ZFS datasets',
  diskLimit: 'referenced',
  diskLimitNote: 'zfs enforces a disk limit with the refquota of the dataset',
};

export type { Spawn } from '../base.js';

const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';

const FS_COLUMNS = ['name', MARK, 'readonly'] as const;
const SNAP_COLUMNS = ['name', 'creation', 'createtxg'] as const;

export class ZfsDriver extends StorageDriverBase {
  readonly info = ZFS_INFO;
  /** The pool's root dataset, e.g. tank/cellblock-default. */
  readonly rootDataset: string;

  constructor(ctx: PoolContext, pool: PoolRecord, spawn?: Spawn) {
    super(ctx, pool, spawn);
    if (pool.source.kind !== 'zfs') throw new Error(`pool ${pool.name} is not a zfs pool`);
    this.rootDataset = pool.source.dataset;
  }

  override snapshotPath(ref: SnapshotRef): string {
    return layout.snapshotPath(this.pool.mountpoint, ref);
  }

  full(ds: string): string {
    return layout.fullDataset(this.rootDataset, ds);
  }

  fullSnap(ref: SnapshotRef): string {
    return layout.fullSnapshot(this.rootDataset, ref);
  }

  /** One `zfs list` row of `name`, or undefined when it does not exist. */
  async row(name: string, type: 'filesystem' | 'snapshot', columns: readonly string[]): Promise<ListRow | undefined> {
    try {
      const { stdout } = await run(this.ctx.exec, argv.list(columns, { types: [type], name }));
      return parseList(stdout, columns)[0];
    } catch (e) {
      if (isKind(e, 'not-found')) return undefined;
      throw e;
    }
  }

  /** The zfs filesystem at dataset name `ds` (a cellblock dataset or not). */
  filesystem(ds: string): Promise<ListRow | undefined> {
    return this.row(this.full(ds), 'filesystem', FS_COLUMNS);
  }

  override async datasetExists(ds: string): Promise<boolean> {
    return (await this.filesystem(ds))?.user[MARK] === ds;
  }

  override async snapshotExists(ref: SnapshotRef): Promise<boolean> {
    return (await this.row(this.fullSnap(ref), 'snapshot', ['name'])) !== undefined;
  }

  // --- datasets ---

  override async createDataset(ds: string): Promise<DatasetInfo> {
    const full = this.full(ds);
    const fs = await this.filesystem(ds);
    if (fs?.user[MARK] === ds) throw datasetTaken(ds);
    if (fs && (fs.readonly || (await this.listSnapshots(ds)).length > 0)) {
      throw new ExistsError(
        `${ds} is the kept read-only head of a destroyed dataset whose snapshots still exist`,
        `zfs keeps a dataset while it has snapshots: destroy them first, or roll back to the latest to bring the dataset back`,
      );
    }
    try {
      // A plain parent made on the way to a deeper dataset becomes this dataset.
      if (fs) await run(this.ctx.exec, argv.set(full, { [MARK]: ds }));
      else await run(this.ctx.exec, argv.create(full, { parents: true, props: { [MARK]: ds } }));
    } catch (e) {
      if (isKind(e, 'exists')) throw datasetTaken(ds);
      throw e;
    }
    return { name: ds, path: this.datasetPath(ds) };
  }

  override async destroyDataset(ds: string, opts: { keepSnapshots?: boolean } = {}): Promise<void> {
    const full = this.full(ds);
    const fs = await this.filesystem(ds);
    if (!fs) return;
    const isDataset = fs.user[MARK] === ds;
    // Not a dataset: a plain parent (left alone), or a kept head (removed by a full destroy).
    if (!isDataset && (opts.keepSnapshots || !fs.readonly)) return;
    if (opts.keepSnapshots && (await this.listSnapshots(ds)).length > 0) {
      await run(this.ctx.exec, argv.set(full, { readonly: 'on' }));
      await run(this.ctx.exec, argv.inherit(MARK, full));
      return;
    }
    const children = await this.children(full);
    if (children.length) {
      throw new UserError(`dataset ${ds} contains other datasets: ${children.join(', ')}`, 'destroy those first');
    }
    await this.destroy(argv.destroy(full, { recursive: true }), ds);
    await this.pruneParents(ds);
  }

  override async listDatasets(): Promise<DatasetInfo[]> {
    const cols = ['name', MARK, 'origin'];
    const { stdout } = await run(this.ctx.exec, argv.list(cols, { types: ['filesystem'], recursive: true, name: this.rootDataset }));
    const out: DatasetInfo[] = [];
    for (const r of parseList(stdout, cols)) {
      const name = layout.relativeDataset(this.rootDataset, r.name);
      if (name === undefined || r.user[MARK] !== name) continue;
      const origin = r.origin ? layout.relativeSnapshot(this.rootDataset, r.origin) : undefined;
      out.push({ name, path: this.datasetPath(name), ...(origin ? { origin: fmt(origin) } : {}) });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // --- snapshots ---

  override async createSnapshot(ref: SnapshotRef): Promise<SnapshotInfo> {
    const r = checkRef(ref);
    if (!(await this.datasetExists(r.dataset))) throw noDataset(r.dataset);
    try {
      await run(this.ctx.exec, argv.snapshot(this.fullSnap(r)));
    } catch (e) {
      if (isKind(e, 'exists')) throw snapshotTaken(r);
      throw e;
    }
    return this.snapshotInfo(r);
  }

  override async destroySnapshot(ref: SnapshotRef): Promise<void> {
    const r = checkRef(ref);
    try {
      await this.destroy(argv.destroy(this.fullSnap(r)), fmt(r));
    } catch (e) {
      if (!isKind(e, 'not-found')) throw e;
    }
    // A kept head goes with its last snapshot.
    const fs = await this.filesystem(r.dataset);
    if (fs && fs.user[MARK] !== r.dataset && fs.readonly && (await this.listSnapshots(r.dataset)).length === 0) {
      await this.destroyDataset(r.dataset);
    }
  }

  override async listSnapshots(ds?: string): Promise<SnapshotInfo[]> {
    const a = ds === undefined
      ? argv.list(SNAP_COLUMNS, { types: ['snapshot'], recursive: true, name: this.rootDataset })
      : argv.list(SNAP_COLUMNS, { types: ['snapshot'], depth: 1, name: this.full(checkDataset(ds)) });
    let rows: ListRow[];
    try {
      rows = parseList((await run(this.ctx.exec, a)).stdout, SNAP_COLUMNS);
    } catch (e) {
      if (isKind(e, 'not-found')) return [];
      throw e;
    }
    const out: (SnapshotInfo & { txg: number })[] = [];
    for (const row of rows) {
      const ref = layout.relativeSnapshot(this.rootDataset, row.name);
      if (!ref) continue;
      out.push({ dataset: ref.dataset, name: ref.snapshot, path: this.snapshotPath(ref), createdAt: new Date((row.creation ?? 0) * 1000).toISOString(), txg: row.createtxg ?? 0 });
    }
    out.sort((x, y) => (x.dataset < y.dataset ? -1 : x.dataset > y.dataset ? 1 : x.txg - y.txg));
    return out.map(({ txg: _txg, ...s }) => s);
  }

  override async rollback(ref: SnapshotRef): Promise<void> {
    const r = checkRef(ref);
    const snaps = await this.listSnapshots(r.dataset);
    const i = snaps.findIndex((s) => s.name === r.snapshot);
    if (i < 0) throw noSnapshot(r);
    if (i !== snaps.length - 1) {
      const later = snaps.slice(i + 1).map((s) => `${s.dataset}@${s.name}`);
      throw this.notSupported(
        `rolling back ${r.dataset} past later snapshots`,
        `zfs rolls back only to the most recent snapshot and would destroy ${later.join(', ')}; destroy them first, or clone ${fmt(r)} into a new dataset`,
      );
    }
    await run(this.ctx.exec, argv.rollback(this.fullSnap(r)));
    const fs = await this.filesystem(r.dataset);
    if (fs && fs.user[MARK] !== r.dataset) {
      // the kept head of a destroyed dataset (or a received one): it is a dataset again
      await run(this.ctx.exec, argv.inherit('readonly', this.full(r.dataset)));
      await run(this.ctx.exec, argv.set(this.full(r.dataset), { [MARK]: r.dataset }));
    }
  }

  override async clone(ref: SnapshotRef, newDataset: string): Promise<DatasetInfo> {
    const r = checkRef(ref);
    const full = this.full(newDataset);
    if (!(await this.snapshotExists(r))) throw noSnapshot(r);
    if (await this.filesystem(newDataset)) throw datasetTaken(newDataset, CLONE_FIX);
    try {
      await run(this.ctx.exec, argv.clone(this.fullSnap(r), full, { parents: true, props: { [MARK]: newDataset } }));
    } catch (e) {
      if (isKind(e, 'exists')) throw datasetTaken(newDataset, CLONE_FIX);
      throw e;
    }
    return { name: newDataset, path: this.datasetPath(newDataset), origin: fmt(r) };
  }

  // --- space ---

  /** A dataset: what it refers to, and what its head alone holds (`usedbydataset`); a snapshot: `referenced` and `used`. */
  override async usage(target: string | SnapshotRef): Promise<SpaceUsage> {
    if (typeof target === 'string') {
      const row = (await this.datasetExists(target)) ? await this.row(this.full(target), 'filesystem', ['name', 'usedbydataset', 'referenced']) : undefined;
      if (!row) throw noDataset(target);
      return { referenced: row.referenced ?? 0, exclusive: row.usedbydataset ?? 0 };
    }
    const row = await this.row(this.fullSnap(target), 'snapshot', ['name', 'used', 'referenced']);
    if (!row) throw noSnapshot(target);
    return { referenced: row.referenced ?? 0, exclusive: row.used ?? 0 };
  }

  override async setDiskLimit(ds: string, bytes: number | null): Promise<void> {
    if (!(await this.datasetExists(ds))) throw noDataset(ds);
    await run(this.ctx.exec, argv.refquota(this.full(ds), bytes));
  }

  override async diskUse(ds: string): Promise<DiskUse> {
    const row = (await this.datasetExists(ds)) ? await this.row(this.full(ds), 'filesystem', ['name', 'referenced', 'refquota']) : undefined;
    if (!row) throw noDataset(ds);
    return { used: row.referenced ?? 0, limitBytes: row.refquota ? row.refquota : null };
  }

  // --- migration ---

  override send(ref: SnapshotRef, parent?: SnapshotRef): SendStream {
    return this.toolStream(argv.send(this.fullSnap(ref), parent ? { parent: this.fullSnap(parent) } : {}), classify, 'SIGKILL');
  }

  override receive(input: Readable, target: SnapshotRef, parent?: SnapshotRef): Promise<SnapshotInfo> {
    const pool: ZfsReceivePool = {
      exec: this.ctx.exec,
      poolName: this.pool.name,
      full: (ds) => this.full(ds),
      fullSnap: (r) => this.fullSnap(r),
      snapshotExists: (r) => this.snapshotExists(r),
      filesystemExists: async (ds) => (await this.filesystem(ds)) !== undefined,
      pruneParents: (ds) => this.pruneParents(ds),
      snapshotInfo: (r) => this.snapshotInfo(r),
    };
    return receiveSnapshot(pool, input, checkRef(target), parent ? checkRef(parent) : undefined);
  }

  // --- helpers (also used by ./receive.ts) ---

  async snapshotInfo(r: SnapshotRef): Promise<SnapshotInfo> {
    const row = await this.row(this.fullSnap(r), 'snapshot', SNAP_COLUMNS);
    if (!row) throw noSnapshot(r);
    return { dataset: r.dataset, name: r.snapshot, path: this.snapshotPath(r), createdAt: new Date((row.creation ?? 0) * 1000).toISOString() };
  }

  /** Full names of the filesystems directly below `full`. */
  async children(full: string): Promise<string[]> {
    const { stdout } = await run(this.ctx.exec, argv.list(['name'], { types: ['filesystem'], depth: 1, name: full }));
    return parseList(stdout, ['name']).map((r) => r.name).filter((n) => n !== full);
  }

  /** Destroys the plain parents of `ds` (made on the way by `zfs create -p`) that hold nothing any more. */
  async pruneParents(ds: string): Promise<void> {
    for (const a of layout.ancestorsDeepestFirst(ds)) {
      const fs = await this.filesystem(a);
      if (!fs || fs.user[MARK] === a || fs.readonly) return;
      if ((await this.children(this.full(a))).length || (await this.listSnapshots(a)).length) return;
      await run(this.ctx.exec, argv.destroy(this.full(a)));
    }
  }

  private async destroy(a: string[], what: string): Promise<void> {
    try {
      await run(this.ctx.exec, a);
    } catch (e) {
      if (isKind(e, 'busy')) {
        throw new UserError(`cannot destroy ${what}: ${firstLine(e.stderr)}`, 'stop what uses it, and destroy the clones made from its snapshots first (zfs cannot free a snapshot a clone depends on)');
      }
      throw e;
    }
  }
}
