/**
 * The dir StorageDriver of one open pool: datasets are plain directories, snapshots and
 * clones full copies (`cp -a --reflink=auto`), send/receive a tar stream. Layout in
 * ./layout.ts. Every multi-step change builds in ROOT/.work and renames into place, so a
 * failure leaves the old state (./README.md says what a crash can leave).
 */
import { statSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ExistsError, UserError } from '../../sys/errors.js';
import { readJson, writeJsonAtomic } from '../../sys/fsutil.js';
import { checkDataset, type SnapshotRef } from '../../sys/names.js';
import { Revert } from '../../sys/revert.js';
import { StorageDriverBase } from '../base.js';
import type { DatasetInfo, DriverInfo, SendStream, SnapshotInfo, SpaceUsage } from '../driver.js';
import { checkRef, formatRef as fmt, isDirectory, pathExists, removeEmptyParents } from '../paths.js';
import { noSnapshot, noDataset, datasetTaken, snapshotTaken, CLONE_FIX, RECEIVE_FIX } from '../messages.js';
import * as argv from './argv.js';
import { classify } from './classify.js';
import * as layout from './layout.js';
import type { DatasetMeta, SnapshotMeta } from './layout.js';
import { receiveTar } from './receive.js';
import { findBelow, freeze, removeTree, thaw, treeUsage } from './tree.js';

export const DIR_INFO: DriverInfo = {
  name: 'dir',
  copyOnWrite: false,
  incrementalSend: false,
  streamFormat: 'tar',
  snapshotsOutliveDataset: true,
  note: 'plain directories: every snapshot and clone is a full copy',
  diskLimit: null,
  diskLimitNote: 'the dir driver cannot enforce a disk limit: a jail on it can fill the file system; use a btrfs or zfs pool for limits',
};

export type { Spawn } from '../base.js';

export class DirDriver extends StorageDriverBase {
  readonly info = DIR_INFO;

  override snapshotPath(ref: SnapshotRef): string {
    return layout.snapshotPath(this.root, ref);
  }

  override async datasetExists(ds: string): Promise<boolean> {
    return (await pathExists(layout.datasetMetaPath(this.root, ds))) && (await isDirectory(this.datasetPath(ds)));
  }

  override async snapshotExists(ref: SnapshotRef): Promise<boolean> {
    return isDirectory(this.snapshotPath(ref));
  }

  // --- datasets ---

  override async createDataset(ds: string): Promise<DatasetInfo> {
    checkDataset(ds);
    if (await this.datasetExists(ds)) throw datasetTaken(ds);
    await this.checkPlace(ds);
    const path = this.datasetPath(ds);
    return Revert.run(async (r) => {
      await mkdir(dirname(path), { recursive: true });
      await mkdir(path);
      r.add(`remove ${path}`, () => this.removeHead(ds, path));
      await this.writeDatasetMeta(ds, { createdAt: new Date().toISOString() });
      return { name: ds, path };
    });
  }

  override async destroyDataset(ds: string, opts: { keepSnapshots?: boolean } = {}): Promise<void> {
    checkDataset(ds);
    if (!opts.keepSnapshots) {
      for (const s of await this.listSnapshots(ds)) await this.destroySnapshot({ dataset: s.dataset, snapshot: s.name });
    }
    const metaPath = layout.datasetMetaPath(this.root, ds);
    if (!(await pathExists(metaPath))) return; // not a dataset (missing, or a plain directory on the way to one)
    await this.removeHead(ds, this.datasetPath(ds));
  }

  override async listDatasets(): Promise<DatasetInfo[]> {
    const metaRoot = join(this.root, layout.META_DIR);
    const out: DatasetInfo[] = [];
    for (const rel of await findBelow(metaRoot, (r) => r.endsWith('@.json'))) {
      const e = layout.parseAtName(rel, '.json');
      if (e?.kind !== 'dataset') continue;
      const path = this.datasetPath(e.dataset);
      if (!(await isDirectory(path))) continue;
      const meta = await readJson<DatasetMeta>(join(metaRoot, rel));
      out.push({ name: e.dataset, path, ...(meta?.origin ? { origin: meta.origin } : {}) });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // --- snapshots ---

  override async createSnapshot(ref: SnapshotRef): Promise<SnapshotInfo> {
    const r = checkRef(ref);
    if (!(await this.datasetExists(r.dataset))) throw noDataset(r.dataset);
    if (await this.snapshotExists(r)) throw snapshotTaken(r);
    const createdAt = new Date().toISOString();
    return this.placeSnapshot(r, createdAt, async (staging) => {
      await this.ctx.exec(argv.copyTree(this.datasetPath(r.dataset), staging), { timeoutMs: 0 });
    });
  }

  override async destroySnapshot(ref: SnapshotRef): Promise<void> {
    const r = checkRef(ref);
    const path = this.snapshotPath(r);
    const metaPath = layout.snapshotMetaPath(this.root, r);
    if (await pathExists(path)) {
      // Thawed and moved aside first, so the snapshot disappears at once rather than file by file.
      await thaw(this.ctx.exec, path);
      const old = await this.workPath();
      await rename(path, old);
      await rm(metaPath, { force: true });
      await removeTree(this.ctx.exec, old, { frozen: false });
    } else {
      await rm(metaPath, { force: true });
    }
    await removeEmptyParents(join(this.root, layout.SNAPSHOTS_DIR), dirname(path));
    await removeEmptyParents(join(this.root, layout.META_DIR), dirname(metaPath));
  }

  override async listSnapshots(ds?: string): Promise<SnapshotInfo[]> {
    const snapRoot = join(this.root, layout.SNAPSHOTS_DIR);
    let rels: string[];
    if (ds === undefined) {
      rels = await findBelow(snapRoot, (rel, isDir) => isDir && rel.slice(rel.lastIndexOf('/') + 1).includes('@'));
    } else {
      const segs = checkDataset(ds).split('/');
      const leaf = segs.pop()!;
      const entries = await readdir(join(snapRoot, ...segs), { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return [];
        throw e;
      });
      rels = entries.filter((d) => d.isDirectory() && d.name.startsWith(`${leaf}@`)).map((d) => [...segs, d.name].join('/'));
    }
    const out: SnapshotInfo[] = [];
    for (const rel of rels) {
      const e = layout.parseAtName(rel, '');
      if (e?.kind !== 'snapshot') continue;
      const path = join(snapRoot, rel);
      const meta = await readJson<SnapshotMeta>(layout.snapshotMetaPath(this.root, e.ref));
      const createdAt = meta?.createdAt ?? (await lstat(path)).birthtime.toISOString();
      out.push({ dataset: e.ref.dataset, name: e.ref.snapshot, path, createdAt });
    }
    return out.sort((a, b) => cmp(a.dataset, b.dataset) || cmp(a.createdAt, b.createdAt) || cmp(a.name, b.name));
  }

  override async rollback(ref: SnapshotRef): Promise<void> {
    const r = checkRef(ref);
    if (!(await this.snapshotExists(r))) throw noSnapshot(r);
    const head = this.datasetPath(r.dataset);
    const existed = await this.datasetExists(r.dataset);
    if (!existed) await this.checkPlace(r.dataset);
    await Revert.run(async (rv) => {
      const staging = await this.copyToWork(this.snapshotPath(r), rv);
      if (!existed) {
        await mkdir(dirname(head), { recursive: true });
        await this.writeDatasetMeta(r.dataset, { createdAt: new Date().toISOString() });
        rv.add(`remove the record of ${r.dataset}`, () => rm(layout.datasetMetaPath(this.root, r.dataset), { force: true }));
        await rename(staging, head);
        return;
      }
      // Two renames: the old head moves aside, the copy takes its name. Linux's atomic
      // exchange (renameat2 RENAME_EXCHANGE) is not reachable from Node or Debian 12's tools.
      const old = await this.workPath();
      await rename(head, old);
      try {
        await rename(staging, head);
      } catch (e) {
        await rename(old, head);
        throw e;
      }
      rv.success(); // the rollback is done; removing the old head is cleanup
      await removeTree(this.ctx.exec, old, { frozen: false });
    });
  }

  override async clone(ref: SnapshotRef, newDataset: string): Promise<DatasetInfo> {
    const r = checkRef(ref);
    checkDataset(newDataset);
    if (!(await this.snapshotExists(r))) throw noSnapshot(r);
    if (await this.datasetExists(newDataset)) throw datasetTaken(newDataset, CLONE_FIX);
    await this.checkPlace(newDataset);
    const path = this.datasetPath(newDataset);
    return Revert.run(async (rv) => {
      const staging = await this.copyToWork(this.snapshotPath(r), rv);
      await mkdir(dirname(path), { recursive: true });
      await this.writeDatasetMeta(newDataset, { createdAt: new Date().toISOString(), origin: fmt(r) });
      rv.add(`remove the record of ${newDataset}`, () => rm(layout.datasetMetaPath(this.root, newDataset), { force: true }));
      await rename(staging, path);
      return { name: newDataset, path, origin: fmt(r) };
    });
  }

  // --- space ---

  override async usage(target: string | SnapshotRef): Promise<SpaceUsage> {
    if (typeof target === 'string') {
      if (!(await this.datasetExists(target))) throw noDataset(target);
      return treeUsage(this.datasetPath(target));
    }
    if (!(await this.snapshotExists(target))) throw noSnapshot(target);
    return treeUsage(this.snapshotPath(target));
  }

  // --- migration ---

  /** Always a full stream: a dir pool has no way to compute a difference, so `parent` is not used. */
  override send(ref: SnapshotRef, parent?: SnapshotRef): SendStream {
    const r = checkRef(ref);
    if (parent) checkRef(parent);
    const path = this.snapshotPath(r);
    if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
      throw noSnapshot(r);
    }
    return this.toolStream(argv.tarCreate(path), classify, 'SIGKILL');
  }

  /** A full tar stream into snapshot `target`; `parent` is not needed (streams are never incremental). */
  override async receive(input: Readable, target: SnapshotRef, parent?: SnapshotRef): Promise<SnapshotInfo> {
    const r = checkRef(target);
    if (parent) checkRef(parent);
    if (await this.snapshotExists(r)) throw snapshotTaken(r, RECEIVE_FIX);
    const createdAt = new Date().toISOString();
    return this.placeSnapshot(r, createdAt, (staging) => receiveTar(this.ctx.exec, input, staging, fmt(r)));
  }

  // --- helpers ---

  /** Fills a fresh work directory with `fill`, renames it to the snapshot's place, freezes it and writes its record. */
  private async placeSnapshot(r: SnapshotRef, createdAt: string, fill: (staging: string) => Promise<void>): Promise<SnapshotInfo> {
    const path = this.snapshotPath(r);
    return Revert.run(async (rv) => {
      const staging = await this.workPath();
      rv.add(`remove ${staging}`, () => removeTree(this.ctx.exec, staging, { frozen: false }));
      await fill(staging);
      if (await pathExists(path)) throw new ExistsError(`snapshot ${fmt(r)} appeared meanwhile`, 'choose another snapshot name');
      await mkdir(dirname(path), { recursive: true });
      await rename(staging, path);
      rv.add(`remove ${path}`, () => this.destroySnapshot(r));
      const protection = await freeze(this.ctx.exec, path);
      const meta: SnapshotMeta = { createdAt, protection };
      await writeJsonAtomic(layout.snapshotMetaPath(this.root, r), meta, 0o644);
      return { dataset: r.dataset, name: r.snapshot, path, createdAt };
    });
  }

  /** The dir driver does not nest datasets: a copy of one would carry the other along. */
  private async checkPlace(ds: string): Promise<void> {
    for (const a of layout.ancestors(ds)) {
      if (await this.datasetExists(a)) {
        throw new UserError(`dataset ${ds} would be inside dataset ${a}`, 'the dir driver does not nest datasets; choose a name beside it');
      }
    }
    const below = await findBelow(join(this.root, layout.META_DIR, ...ds.split('/')), (rel) => rel.endsWith('@.json'));
    if (below.length) {
      throw new UserError(`dataset ${ds} would contain dataset ${ds}/${below[0]!.slice(0, -'@.json'.length)}`, 'the dir driver does not nest datasets; choose another name');
    }
    const path = this.datasetPath(ds);
    if (await pathExists(path)) throw new ExistsError(`${path} already exists and is not a dataset`, 'remove it, or choose another name');
  }

  private async removeHead(ds: string, path: string): Promise<void> {
    if (await pathExists(path)) {
      const old = await this.workPath();
      await rename(path, old);
      await rm(layout.datasetMetaPath(this.root, ds), { force: true });
      await removeTree(this.ctx.exec, old, { frozen: false });
    } else {
      await rm(layout.datasetMetaPath(this.root, ds), { force: true });
    }
    await removeEmptyParents(this.root, dirname(path));
    await removeEmptyParents(join(this.root, layout.META_DIR), dirname(layout.datasetMetaPath(this.root, ds)));
  }

  /** A full copy of `src` in a fresh work directory, removed again if `rv` reverts. */
  private async copyToWork(src: string, rv: Revert): Promise<string> {
    const staging = await this.workPath();
    rv.add(`remove ${staging}`, () => removeTree(this.ctx.exec, staging, { frozen: false }));
    await this.ctx.exec(argv.copyTree(src, staging), { timeoutMs: 0 });
    return staging;
  }

  private async writeDatasetMeta(ds: string, meta: DatasetMeta): Promise<void> {
    await writeJsonAtomic(layout.datasetMetaPath(this.root, ds), meta, 0o644);
  }

  private async workPath(): Promise<string> {
    await mkdir(join(this.root, layout.WORK_DIR), { recursive: true, mode: 0o700 });
    return layout.workPath(this.root);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
