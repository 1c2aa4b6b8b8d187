/**
 * Where things live inside a btrfs pool's root (the mount of a loop pool, or the
 * `cellblock-NAME` subvolume of a pool on an existing btrfs mount):
 *
 *   ROOT/<dataset>                       a dataset: a subvolume; "/" in its name are plain directories
 *   ROOT/.snapshots/<dataset>@<snapshot> a snapshot: a read-only subvolume
 *   .../.incoming-<random>, .rollback-<random>, .old-<random>
 *                                        work in progress of receive and rollback; never a valid name
 *
 * Snapshots are named `<dataset>@<snapshot>` rather than `<dataset>/<snapshot>` so that a
 * dataset `a/b` and a snapshot `a@b` can never collide. Names are checked by src/sys/names.ts
 * before they reach a path; no valid name starts with ".", so the hidden names above and
 * `.snapshots` are never taken for datasets.
 */
import { lstat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NAME_RE, type SnapshotRef } from '../../sys/names.js';
import * as paths from '../paths.js';

export { pathExists } from '../paths.js';

export const SNAPSHOTS_DIR = '.snapshots';
/** Inode number of every subvolume's root directory in btrfs (BTRFS_FIRST_FREE_OBJECTID). */
export const SUBVOLUME_INO = 256;

export function datasetPath(root: string, ds: string): string {
  return paths.datasetPathIn(root, ds);
}

export function snapshotPath(root: string, ref: SnapshotRef): string {
  return paths.snapshotPathIn(root, SNAPSHOTS_DIR, ref);
}

export function snapshotsRoot(root: string): string {
  return join(root, SNAPSHOTS_DIR);
}

/** A hidden name for work in progress, e.g. `.incoming-3f9a0c21d4e5b6a7`. */
export function workName(kind: 'incoming' | 'rollback' | 'old'): string {
  return `.${kind}-${randomBytes(8).toString('hex')}`;
}

export type PoolEntry = { kind: 'dataset'; dataset: string } | { kind: 'snapshot'; ref: SnapshotRef };

function validDataset(segs: string[]): boolean {
  return segs.length > 0 && segs.length <= 8 && segs.every((s) => NAME_RE.test(s));
}

/** What a subvolume at `rel` (relative to the pool root) is; undefined for anything else. */
export function classifyRelPath(rel: string): PoolEntry | undefined {
  const segs = rel.split('/');
  if (segs[0] === SNAPSHOTS_DIR) {
    const rest = segs.slice(1);
    const last = rest.pop();
    if (last === undefined) return undefined;
    const at = last.indexOf('@');
    if (at <= 0 || at !== last.lastIndexOf('@')) return undefined;
    const dsSegs = [...rest, last.slice(0, at)];
    const snapshot = last.slice(at + 1);
    if (!validDataset(dsSegs) || !NAME_RE.test(snapshot) || snapshot.includes('..')) return undefined;
    return { kind: 'snapshot', ref: { dataset: dsSegs.join('/'), snapshot } };
  }
  return validDataset(segs) ? { kind: 'dataset', dataset: rel } : undefined;
}

/** True when `path` is the root directory of a subvolume (not a plain directory, not missing). */
export async function isSubvolume(path: string): Promise<boolean> {
  try {
    const st = await lstat(path);
    return st.isDirectory() && st.ino === SUBVOLUME_INO;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw e;
  }
}

/**
 * Removes the empty plain directories from `dir` up to (not including) `stopAt`. Never a
 * subvolume: rmdir would delete an empty one.
 */
export function removeEmptyParents(stopAt: string, dir: string): Promise<void> {
  return paths.removeEmptyParents(stopAt, dir, isSubvolume);
}
