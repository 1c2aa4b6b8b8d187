/**
 * Paths inside a pool and the plain directories between them, shared by the drivers whose
 * datasets are directories under a root (btrfs, dir; zfs for its mountpoints):
 *
 *   ROOT/<a>/<b>/<leaf>          dataset `a/b/leaf`: "/" in a name are directories on the way
 *   ROOT/<sub>/<a>/<b>/<leaf>@X  something of that dataset kept beside it (a snapshot, a record)
 *
 * Names are checked (src/sys/names.ts) before they become a path. Parent directories made on
 * the way to a dataset are removed again when the last thing under them goes (removeEmptyParents)
 * and when the step that needed them fails (withParents).
 */
import { mkdir, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkDataset, checkName, type SnapshotRef } from '../sys/names.js';

export { isDirectory, pathExists } from '../sys/fsutil.js';

/** `dataset@snapshot`, as messages and records write a snapshot. */
export function formatRef(r: SnapshotRef): string {
  return `${r.dataset}@${r.snapshot}`;
}

/** The reference with both names checked (UserError naming the field otherwise). */
export function checkRef(ref: SnapshotRef): SnapshotRef {
  return { dataset: checkDataset(ref.dataset), snapshot: checkName('snapshot', ref.snapshot) };
}

/** ROOT/<dataset segments>. */
export function datasetPathIn(root: string, ds: string): string {
  return join(root, ...checkDataset(ds).split('/'));
}

/** ROOT/<sub>/<parent segments>/<leaf>@<suffix>. */
export function atPathIn(root: string, sub: string, ds: string, suffix: string): string {
  const segs = checkDataset(ds).split('/');
  const leaf = segs.pop()!;
  return join(root, sub, ...segs, `${leaf}@${suffix}`);
}

/** ROOT/<sub>/<parent segments>/<leaf>@<snapshot>. */
export function snapshotPathIn(root: string, sub: string, ref: SnapshotRef): string {
  const r = checkRef(ref);
  return atPathIn(root, sub, r.dataset, r.snapshot);
}

/** The dataset prefixes of `ds`, shallowest first: `a/b/c` -> `a`, `a/b`. */
export function ancestors(ds: string): string[] {
  const s = checkDataset(ds).split('/');
  return s.slice(0, -1).map((_, i) => s.slice(0, i + 1).join('/'));
}

/**
 * Removes the empty directories from `dir` up to (not including) `stopAt`. `keep` says which
 * directories are not plain ones (a btrfs subvolume: rmdir would delete an empty one); the walk
 * stops at the first of them.
 */
export async function removeEmptyParents(stopAt: string, dir: string, keep?: (dir: string) => Promise<boolean>): Promise<void> {
  while (dir !== stopAt && dir.startsWith(stopAt + '/')) {
    if (keep && (await keep(dir))) return;
    try {
      await rmdir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EBUSY' || code === 'ENOTDIR') return;
      if (code !== 'ENOENT') throw e;
    }
    dir = dirname(dir);
  }
}

/**
 * Makes the parent directories of `path`, runs `fn`, and when fn fails removes the parents it
 * made (up to `stopAt`) before rethrowing: a failed create leaves no empty directories behind.
 */
export async function withParents<T>(stopAt: string, path: string, fn: () => Promise<T>, keep?: (dir: string) => Promise<boolean>): Promise<T> {
  const made = await mkdir(dirname(path), { recursive: true });
  try {
    return await fn();
  } catch (e) {
    if (made) {
      try {
        await removeEmptyParents(stopAt, dirname(path), keep);
      } catch (ce) {
        if (e instanceof Error) e.message += ` (and the directories made for it could not be removed: ${(ce as Error).message})`;
      }
    }
    throw e;
  }
}
