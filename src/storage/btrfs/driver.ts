/**
 * The btrfs StorageDriver of one open pool: datasets are subvolumes, snapshots read-only
 * subvolumes (layout in ./layout.ts), send/receive are `btrfs send` / `btrfs receive`.
 * Every command goes through ctx.exec (streams through spawnStream), failures are
 * classified in ./classify.ts.
 */
import { lstatSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ExistsError, NotFoundError, UserError } from '../../sys/errors.js';
import { checkDataset, type SnapshotRef } from '../../sys/names.js';
import { StorageDriverBase } from '../base.js';
import type { DatasetInfo, DiskUse, DriverInfo, SendStream, SnapshotInfo, SpaceUsage } from '../driver.js';
import { checkRef, formatRef as fmt, withParents } from '../paths.js';
import { noSnapshot, noDataset, datasetTaken, snapshotTaken, CLONE_FIX, RECEIVE_FIX } from '../messages.js';
import * as argv from './argv.js';
import { classify, isKind, run } from './classify.js';
import * as layout from './layout.js';
import { parseFilesystemDu, parseQgroupShow, parseSubvolumeList, parseSubvolumeShow, type SubvolumeListEntry } from './parse.js';
import { receiveSnapshot } from './receive.js';

export const BTRFS_INFO: DriverInfo = {
  name: 'btrfs',
  copyOnWrite: true,
  incrementalSend: true,
  streamFormat: 'btrfs-send',
  snapshotsOutliveDataset: true,
  note: 'copy-on-write: snapshots and clones are instant and share blocks',
  diskLimit: 'referenced',
  diskLimitNote: 'btrfs enforces a disk limit with a quota group on the dataset (its referenced size)',
};

export type { Spawn } from '../base.js';

/** `btrfs filesystem du` reads the extents of every file: minutes on a large dataset. */
const DU_TIMEOUT_MS = 30 * 60_000;

/** Runs fn over items, at most `limit` at a time, keeping order. */
async function mapLimit<T, U>(items: readonly T[], limit: number, fn: (t: T) => Promise<U>): Promise<U[]> {
  const out: U[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class BtrfsDriver extends StorageDriverBase {
  readonly info = BTRFS_INFO;
  private prefix: Promise<string> | undefined;
  /** `btrfs quota enable`, run once per open pool before the first limit (a pool made before quotas). */
  private quota: Promise<unknown> | undefined;

  override snapshotPath(ref: SnapshotRef): string {
    return layout.snapshotPath(this.root, checkRef(ref));
  }

  override async datasetExists(ds: string): Promise<boolean> {
    return layout.isSubvolume(this.datasetPath(ds));
  }

  override async snapshotExists(ref: SnapshotRef): Promise<boolean> {
    return layout.isSubvolume(this.snapshotPath(ref));
  }

  // --- datasets ---

  override async createDataset(ds: string): Promise<DatasetInfo> {
    const path = this.datasetPath(ds);
    if (await layout.pathExists(path)) {
      const what = (await layout.isSubvolume(path)) ? `dataset ${ds} already exists` : `${ds} is a directory holding other datasets`;
      throw new ExistsError(what, 'choose another dataset name');
    }
    try {
      await withParents(this.root, path, () => run(this.ctx.exec, argv.subvolumeCreate(path)), layout.isSubvolume);
    } catch (e) {
      if (isKind(e, 'exists')) throw datasetTaken(ds);
      throw e;
    }
    return { name: ds, path };
  }

  override async destroyDataset(ds: string, opts: { keepSnapshots?: boolean } = {}): Promise<void> {
    const path = this.datasetPath(ds);
    if (await layout.isSubvolume(path)) {
      await this.refuseNested(ds, 'remove');
      await this.deleteSubvolume(path, `dataset ${ds}`);
      await layout.removeEmptyParents(this.root, dirname(path));
    }
    if (!opts.keepSnapshots) {
      for (const s of await this.listSnapshots(ds)) await this.destroySnapshot({ dataset: s.dataset, snapshot: s.name });
    }
  }

  override async listDatasets(): Promise<DatasetInfo[]> {
    const entries = await this.entries();
    const snapByUuid = new Map<string, SnapshotRef>();
    for (const e of entries) if (e.entry.kind === 'snapshot' && e.sub.uuid) snapByUuid.set(e.sub.uuid, e.entry.ref);
    const out: DatasetInfo[] = [];
    for (const { entry, sub } of entries) {
      if (entry.kind !== 'dataset') continue;
      const from = sub.parentUuid ? snapByUuid.get(sub.parentUuid) : undefined;
      // a head made by rollback comes from its own snapshot: that is not a clone
      const origin = from && from.dataset !== entry.dataset ? fmt(from) : undefined;
      out.push({ name: entry.dataset, path: this.datasetPath(entry.dataset), ...(origin ? { origin } : {}) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  // --- snapshots ---

  override async createSnapshot(ref: SnapshotRef): Promise<SnapshotInfo> {
    const path = this.snapshotPath(ref);
    const head = this.datasetPath(ref.dataset);
    if (!(await layout.isSubvolume(head))) throw noDataset(ref.dataset);
    if (await layout.pathExists(path)) throw snapshotTaken(ref);
    try {
      await withParents(layout.snapshotsRoot(this.root), path, () => run(this.ctx.exec, argv.subvolumeSnapshot(head, path, { readonly: true })), layout.isSubvolume);
    } catch (e) {
      if (isKind(e, 'exists')) throw snapshotTaken(ref);
      throw e;
    }
    return this.snapshotInfo(ref, path);
  }

  override async destroySnapshot(ref: SnapshotRef): Promise<void> {
    const path = this.snapshotPath(ref);
    if (!(await layout.isSubvolume(path))) return;
    await this.deleteSubvolume(path, `snapshot ${fmt(ref)}`);
    await layout.removeEmptyParents(layout.snapshotsRoot(this.root), dirname(path));
  }

  override async listSnapshots(ds?: string): Promise<SnapshotInfo[]> {
    if (ds !== undefined) checkDataset(ds);
    const refs = (await this.entries()).flatMap(({ entry, sub }) =>
      entry.kind === 'snapshot' && (ds === undefined || entry.ref.dataset === ds) ? [{ ref: entry.ref, id: sub.id }] : [],
    );
    const infos = await mapLimit(refs, 8, async ({ ref, id }) => ({ info: await this.snapshotInfo(ref, this.snapshotPath(ref)), id }));
    infos.sort((a, b) => a.info.dataset.localeCompare(b.info.dataset) || a.info.createdAt.localeCompare(b.info.createdAt) || a.id - b.id);
    return infos.map((i) => i.info);
  }

  override async rollback(ref: SnapshotRef): Promise<void> {
    const snap = this.snapshotPath(ref);
    if (!(await layout.isSubvolume(snap))) throw noSnapshot(ref);
    const head = this.datasetPath(ref.dataset);
    const hadHead = await layout.isSubvolume(head);
    if (hadHead) await this.refuseNested(ref.dataset, 'roll back');
    const dir = dirname(head);
    await mkdir(dir, { recursive: true });
    const fresh = join(dir, layout.workName('rollback'));
    await run(this.ctx.exec, argv.subvolumeSnapshot(snap, fresh));
    const old = join(dir, layout.workName('old'));
    try {
      if (hadHead) await rename(head, old);
      try {
        await rename(fresh, head);
      } catch (e) {
        if (hadHead) await rename(old, head);
        throw e;
      }
    } catch (e) {
      await this.deleteSubvolume(fresh, 'the new head').catch((ce: unknown) => {
        // no logger here: the caller gets the leftover's path in the error it already throws
        if (e instanceof Error) e.message += ` (and the new head at ${fresh} could not be removed: ${(ce as Error).message})`;
      });
      if ((e as NodeJS.ErrnoException).code === 'EBUSY') throw new UserError(`dataset ${ref.dataset} is in use (mounted somewhere)`, 'stop what uses it, then roll back again');
      throw e;
    }
    if (!hadHead) return;
    try {
      await this.deleteSubvolume(old, 'the old head');
    } catch (e) {
      throw new UserError(`rolled back ${ref.dataset} to ${ref.snapshot}, but the old contents are still at ${old}: ${(e as Error).message}`, `delete them with: btrfs subvolume delete ${old}`);
    }
  }

  override async clone(ref: SnapshotRef, newDataset: string): Promise<DatasetInfo> {
    const snap = this.snapshotPath(ref);
    const path = this.datasetPath(newDataset);
    if (!(await layout.isSubvolume(snap))) throw noSnapshot(ref);
    // btrfs would put the clone inside an existing directory: never let it
    if (await layout.pathExists(path)) throw datasetTaken(newDataset, CLONE_FIX);
    try {
      await withParents(this.root, path, () => run(this.ctx.exec, argv.subvolumeSnapshot(snap, path)), layout.isSubvolume);
    } catch (e) {
      if (isKind(e, 'exists')) throw datasetTaken(newDataset, CLONE_FIX);
      throw e;
    }
    return { name: newDataset, path, origin: fmt(ref) };
  }

  // --- space ---

  override async usage(target: string | SnapshotRef): Promise<SpaceUsage> {
    const path = typeof target === 'string' ? this.datasetPath(target) : this.snapshotPath(target);
    if (!(await layout.isSubvolume(path))) throw typeof target === 'string' ? noDataset(target) : noSnapshot(target);
    const row = parseFilesystemDu((await run(this.ctx.exec, argv.filesystemDu(path), { timeoutMs: DU_TIMEOUT_MS })).stdout)[0];
    if (!row) throw new Error(`btrfs filesystem du printed nothing for ${path}`);
    return { referenced: row.total, exclusive: row.exclusive };
  }

  override async setDiskLimit(ds: string, bytes: number | null): Promise<void> {
    const path = this.datasetPath(ds);
    if (!(await layout.isSubvolume(path))) throw noDataset(ds);
    await this.ensureQuota();
    await run(this.ctx.exec, argv.qgroupLimit(bytes ?? 'none', path));
  }

  override async diskUse(ds: string): Promise<DiskUse> {
    const path = this.datasetPath(ds);
    if (!(await layout.isSubvolume(path))) throw noDataset(ds);
    await this.ensureQuota();
    const row = parseQgroupShow((await run(this.ctx.exec, argv.qgroupShow(path))).stdout)[0];
    if (!row) throw new Error(`btrfs qgroup show printed no quota group for ${path}`);
    return { used: row.referenced, limitBytes: row.maxReferenced };
  }

  /** Quota groups on for this pool's filesystem (pools made before disk limits have them off). */
  private async ensureQuota(): Promise<void> {
    this.quota ??= run(this.ctx.exec, argv.quotaEnable(this.root));
    try {
      await this.quota;
    } catch (e) {
      this.quota = undefined;
      throw e;
    }
  }

  // --- migration ---

  override send(ref: SnapshotRef, parent?: SnapshotRef): SendStream {
    const path = this.snapshotPath(ref);
    const parentPath = parent ? this.snapshotPath(parent) : undefined;
    for (const [p, r] of [[path, ref], [parentPath, parent]] as const) {
      if (p && r && !isSubvolumeSync(p)) throw noSnapshot(r);
    }
    return this.toolStream(argv.send(path, { parent: parentPath, quiet: true }), classify, 'SIGTERM');
  }

  override async receive(input: Readable, target: SnapshotRef, parent?: SnapshotRef): Promise<SnapshotInfo> {
    const path = this.snapshotPath(target);
    if (await layout.pathExists(path)) throw snapshotTaken(target, RECEIVE_FIX);
    if (parent && !(await this.snapshotExists(parent))) {
      throw new NotFoundError(`snapshot ${fmt(parent)} (the parent of this stream) does not exist here`, 'receive the parent first, or send a full stream');
    }
    await receiveSnapshot(this.ctx.exec, input, path, layout.snapshotsRoot(this.root), (p, what) => this.deleteSubvolume(p, what));
    return this.snapshotInfo(target, path);
  }

  // --- helpers ---

  private async snapshotInfo(ref: SnapshotRef, path: string): Promise<SnapshotInfo> {
    const show = parseSubvolumeShow((await run(this.ctx.exec, argv.subvolumeShow(path))).stdout);
    return { dataset: ref.dataset, name: ref.snapshot, path, createdAt: show.createdAt ?? new Date(0).toISOString() };
  }

  private async deleteSubvolume(path: string, what: string): Promise<void> {
    try {
      await run(this.ctx.exec, argv.subvolumeDelete([path]));
    } catch (e) {
      if (isKind(e, 'not-found')) return;
      if (isKind(e, 'busy')) throw new UserError(`${what} is busy: it holds other datasets or something has it mounted`, 'remove the datasets inside it and stop what uses it, then try again');
      throw e;
    }
  }

  private async refuseNested(ds: string, verb: string): Promise<void> {
    const inside = (await this.listDatasets()).filter((d) => d.name.startsWith(ds + '/')).map((d) => d.name);
    if (inside.length) throw new UserError(`cannot ${verb} dataset ${ds}: it holds other datasets (${inside.join(', ')})`, `remove them first: cellblock dataset rm ${inside[0]}`);
  }

  /** Every subvolume under the pool root that is a dataset or a snapshot (one `btrfs subvolume list`). */
  private async entries(): Promise<{ entry: layout.PoolEntry; sub: SubvolumeListEntry }[]> {
    this.prefix ??= run(this.ctx.exec, argv.subvolumeShow(this.root)).then((r) => parseSubvolumeShow(r.stdout).path);
    let prefix: string;
    try {
      prefix = await this.prefix;
    } catch (e) {
      this.prefix = undefined;
      throw e;
    }
    const subs = parseSubvolumeList((await run(this.ctx.exec, argv.subvolumeList(this.root))).stdout);
    return subs.flatMap((sub) => {
      if (prefix !== '' && !sub.path.startsWith(prefix + '/')) return [];
      const entry = layout.classifyRelPath(prefix === '' ? sub.path : sub.path.slice(prefix.length + 1));
      return entry ? [{ entry, sub }] : [];
    });
  }
}

function isSubvolumeSync(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.ino === layout.SUBVOLUME_INO;
  } catch {
    return false;
  }
}
