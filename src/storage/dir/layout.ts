/**
 * Where things live inside a dir pool's root directory:
 *
 *   ROOT/.cellblock-pool.json              marker: which pool of which data dir owns ROOT
 *   ROOT/<dataset>                         a dataset's head; "/" in its name are plain directories
 *   ROOT/.snapshots/<dataset>@<snapshot>   a snapshot: a full copy, made immutable where possible
 *   ROOT/.meta/<dataset>@.json             a dataset's record (creation time, clone origin)
 *   ROOT/.meta/<dataset>@<snapshot>.json   a snapshot's record (creation time, how it is protected)
 *   ROOT/.work/<random>                    work in progress (copies, receives, old heads); never a valid name
 *
 * Snapshots are `<dataset>@<snapshot>` (as in the btrfs driver) rather than
 * `<dataset>/<snapshot>`, so that a dataset `a/b` and a snapshot `a@b` never collide. No valid
 * name starts with "." or contains "@" (src/sys/names.ts), so the hidden names above are
 * never taken for datasets and no record file name can equal a dataset directory.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NAME_RE, type SnapshotRef } from '../../sys/names.js';
import { atPathIn, checkRef, datasetPathIn, snapshotPathIn } from '../paths.js';

export { ancestors, checkRef } from '../paths.js';

export const MARKER = '.cellblock-pool.json';
export const SNAPSHOTS_DIR = '.snapshots';
export const META_DIR = '.meta';
export const WORK_DIR = '.work';
/** Every top-level name a pool root holds besides datasets. */
export const HIDDEN = [MARKER, SNAPSHOTS_DIR, META_DIR, WORK_DIR] as const;

/** What ROOT/.cellblock-pool.json says. */
export interface PoolMarker {
  pool: string;
  dataDir: string;
  createdAt: string;
  /** The outermost directory createPool made (ROOT or one of its parents); null if ROOT existed. */
  createdDir: string | null;
}

export interface DatasetMeta {
  createdAt: string;
  /** `dataset@snapshot` this dataset was cloned from. */
  origin?: string;
}

/** How a snapshot is kept read-only: the immutable attribute (root, on ext4/xfs/btrfs...) or only by convention. */
export type Protection = 'immutable' | 'convention';

export interface SnapshotMeta {
  createdAt: string;
  protection: Protection;
}

export function datasetPath(root: string, ds: string): string {
  return datasetPathIn(root, ds);
}

export function snapshotPath(root: string, ref: SnapshotRef): string {
  return snapshotPathIn(root, SNAPSHOTS_DIR, ref);
}

export function datasetMetaPath(root: string, ds: string): string {
  return atPathIn(root, META_DIR, ds, '.json');
}

export function snapshotMetaPath(root: string, ref: SnapshotRef): string {
  const r = checkRef(ref);
  return atPathIn(root, META_DIR, r.dataset, `${r.snapshot}.json`);
}

/** A fresh path for work in progress, e.g. ROOT/.work/3f9a0c21d4e5b6a7. */
export function workPath(root: string): string {
  return join(root, WORK_DIR, randomBytes(8).toString('hex'));
}

export type MetaEntry = { kind: 'dataset'; dataset: string } | { kind: 'snapshot'; ref: SnapshotRef };

/**
 * What a file at `rel` under ROOT/.meta (or, without `.json`, a directory under ROOT/.snapshots) is:
 * `a/b@.json` a dataset record, `a/b@s.json` a snapshot record. Undefined for anything else.
 */
export function parseAtName(rel: string, ext: '.json' | ''): MetaEntry | undefined {
  if (!rel.endsWith(ext)) return undefined;
  const s = rel.slice(0, rel.length - ext.length).split('/');
  const last = s.pop()!;
  const at = last.indexOf('@');
  if (at <= 0 || at !== last.lastIndexOf('@')) return undefined;
  const dsSegs = [...s, last.slice(0, at)];
  if (dsSegs.length > 8 || !dsSegs.every((x) => NAME_RE.test(x))) return undefined;
  const dataset = dsSegs.join('/');
  const snap = last.slice(at + 1);
  if (snap === '') return ext === '' ? undefined : { kind: 'dataset', dataset };
  if (!NAME_RE.test(snap) || snap.includes('..')) return undefined;
  return { kind: 'snapshot', ref: { dataset, snapshot: snap } };
}
