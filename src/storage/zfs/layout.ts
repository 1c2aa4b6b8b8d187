/**
 * Names and paths in a zfs pool. The pool's root is the dataset `<path>/cellblock-<pool>`
 * (created by createPool under the dataset given as --path), and:
 *
 *   <root>/<dataset>             a dataset; "/" in its name are datasets too (made by `zfs create -p`)
 *   <root>/<dataset>@<snapshot>  a snapshot
 *   MOUNT/<dataset>              a dataset's files (children inherit the root's mountpoint)
 *   MOUNT/<dataset>/.zfs/snapshot/<snapshot>   a snapshot's files (read-only, mounted on access)
 *
 * Which zfs datasets are cellblock datasets (rather than parents made on the way, or the kept
 * read-only head of a destroyed dataset) is said by the user property `cellblock:dataset`,
 * set locally to the dataset's own name: an inherited value is a parent's name and does not count.
 */
import { join } from 'node:path';
import { UserError } from '../../sys/errors.js';
import { checkDataset, NAME_RE, type SnapshotRef } from '../../sys/names.js';
import { ancestors, checkRef, datasetPathIn } from '../paths.js';

export { checkRef } from '../paths.js';

/** User property marking a cellblock dataset; its value is the dataset's name in the pool. */
export const MARK = 'cellblock:dataset';
/** User properties of the pool's root dataset: which pool of which data dir it is. */
export const POOL_PROP = 'cellblock:pool';
export const DATADIR_PROP = 'cellblock:datadir';

/** A zfs pool or dataset name as --path takes it: `tank`, `tank/cellblock`. */
export const ZFS_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9][A-Za-z0-9_.:-]*)*$/;

export function checkZfsName(field: string, v: string): string {
  if (v.length > 200 || !ZFS_NAME_RE.test(v) || v.split('/').some((s) => s === '.' || s === '..')) {
    throw new UserError(`${field}: invalid zfs dataset name ${JSON.stringify(v)}`, 'give an existing zfs pool or dataset, for example tank or tank/cellblock');
  }
  return v;
}

/** The root dataset of pool `pool` under the dataset `parent`. */
export function rootName(parent: string, pool: string): string {
  return `${parent}/cellblock-${pool}`;
}

export function fullDataset(root: string, ds: string): string {
  return `${root}/${checkDataset(ds)}`;
}

export function fullSnapshot(root: string, ref: SnapshotRef): string {
  const r = checkRef(ref);
  return `${root}/${r.dataset}@${r.snapshot}`;
}

/** The cellblock dataset name of full zfs name `full` under `root`; undefined when outside it or not a valid name. */
export function relativeDataset(root: string, full: string): string | undefined {
  if (!full.startsWith(root + '/')) return undefined;
  const rel = full.slice(root.length + 1);
  const segs = rel.split('/');
  return segs.length <= 8 && segs.every((s) => NAME_RE.test(s)) ? rel : undefined;
}

/** `tank/cellblock-p/a/b@s` -> {a/b, s} under root; undefined for anything else. */
export function relativeSnapshot(root: string, full: string): SnapshotRef | undefined {
  const at = full.indexOf('@');
  if (at < 0 || at !== full.lastIndexOf('@')) return undefined;
  const dataset = relativeDataset(root, full.slice(0, at));
  const snapshot = full.slice(at + 1);
  if (dataset === undefined || !NAME_RE.test(snapshot) || snapshot.includes('..')) return undefined;
  return { dataset, snapshot };
}

export function datasetPath(mountpoint: string, ds: string): string {
  return datasetPathIn(mountpoint, ds);
}

export function snapshotPath(mountpoint: string, ref: SnapshotRef): string {
  const r = checkRef(ref);
  return join(mountpoint, ...r.dataset.split('/'), '.zfs', 'snapshot', r.snapshot);
}

/** The dataset prefixes of `ds`, deepest first: `a/b/c` -> `a/b`, `a`. */
export function ancestorsDeepestFirst(ds: string): string[] {
  return ancestors(ds).reverse();
}
