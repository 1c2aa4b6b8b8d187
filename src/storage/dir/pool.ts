/**
 * A dir pool's life: create (a new or empty directory, marked as ours), open (check the
 * marker), destroy (remove exactly what the pool holds and the directories we made).
 */
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ExistsError, NotFoundError, UserError } from '../../sys/errors.js';
import { readJson, writeJsonAtomic } from '../../sys/fsutil.js';
import { checkName } from '../../sys/names.js';
import { Revert } from '../../sys/revert.js';
import type { PoolContext, PoolCreateRequest, PoolRecord } from '../driver.js';
import { DirDriver } from './driver.js';
import { MARKER, META_DIR, SNAPSHOTS_DIR, WORK_DIR, type PoolMarker } from './layout.js';
import { removeTree } from './tree.js';

/** The directory of a pool without --path: DATA_DIR/pools/NAME (beside its record NAME.json). */
export function defaultRoot(dataDir: string, name: string): string {
  return join(resolve(dataDir), 'pools', name);
}

async function readMarker(root: string): Promise<PoolMarker | undefined> {
  // unreadable or not JSON: not a marker cellblock wrote, so the directory is no pool of ours
  return readJson<PoolMarker>(join(root, MARKER)).catch(() => undefined);
}

/** The nearest directory above `root` that is the root of a dir pool, if any. */
async function enclosingPool(root: string): Promise<{ dir: string; marker: PoolMarker } | undefined> {
  for (let d = dirname(root); ; d = dirname(d)) {
    const m = await readMarker(d);
    if (m) return { dir: d, marker: m };
    if (d === dirname(d)) return undefined;
  }
}

export async function createDirPool(ctx: PoolContext, req: PoolCreateRequest): Promise<PoolRecord> {
  const name = checkName('pool', req.name);
  const dataDir = resolve(ctx.dataDir);
  const root = req.path !== undefined ? resolve(req.path) : defaultRoot(dataDir, name);
  const outer = await enclosingPool(root);
  if (outer) {
    throw new UserError(`${root} is inside the directory of pool ${outer.marker.pool} (${outer.dir})`, 'give a directory outside every other pool');
  }
  const record = (createdAt: string): PoolRecord => ({
    name,
    driver: 'dir',
    mountpoint: root,
    source: { kind: 'path', path: root },
    mountedByUs: false,
    createdAt,
  });
  const st = await stat(root).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (st && !st.isDirectory()) throw new UserError(`${root} is not a directory`, 'give a directory (new or empty) for the pool');
  if (st) {
    const marker = await readMarker(root);
    if (marker) {
      // Ours already: the record was lost (or this is a retry); take the directory back as it is.
      if (marker.pool === name && marker.dataDir === dataDir) return record(marker.createdAt);
      throw new ExistsError(`${root} already holds pool ${marker.pool} of data dir ${marker.dataDir}`, 'give another directory, or destroy that pool first');
    }
    if ((await readdir(root)).length > 0) {
      throw new UserError(`${root} is not empty`, 'give a new or empty directory: cellblock does not mix its datasets with other files');
    }
  }
  return Revert.run(async (r) => {
    const createdDir = st ? null : (await mkdir(root, { recursive: true })) ?? null;
    if (createdDir) r.add(`remove ${createdDir}`, () => removeMadeDirs(root, createdDir));
    const createdAt = new Date().toISOString();
    for (const d of [SNAPSHOTS_DIR, META_DIR, WORK_DIR]) {
      await mkdir(join(root, d), { mode: 0o700 });
      r.add(`remove ${d}`, () => rm(join(root, d), { recursive: true, force: true }));
    }
    const marker: PoolMarker = { pool: name, dataDir, createdAt, createdDir };
    r.add(`remove ${MARKER}`, () => rm(join(root, MARKER), { force: true }));
    await writeJsonAtomic(join(root, MARKER), marker, 0o644);
    return record(createdAt);
  });
}

export async function openDirPool(ctx: PoolContext, record: PoolRecord): Promise<DirDriver> {
  const root = record.mountpoint;
  const marker = await readMarker(root);
  if (!marker || marker.pool !== record.name) {
    throw new NotFoundError(
      `the directory of pool ${record.name} (${root}) is missing or holds no cellblock pool`,
      `if it was moved or is on an unmounted filesystem, put it back; otherwise forget the pool with: cellblock pool destroy ${record.name} --yes`,
    );
  }
  for (const d of [SNAPSHOTS_DIR, META_DIR, WORK_DIR]) await mkdir(join(root, d), { recursive: true, mode: 0o700 });
  return new DirDriver(ctx, record);
}

/**
 * Removes the pool's datasets, snapshots, records and work directories, then the directories
 * createPool made. A directory that is missing or not marked as this pool's is left alone
 * (only the pool's record goes); so is anything in it the pool did not make.
 */
export async function destroyDirPool(ctx: PoolContext, record: PoolRecord): Promise<void> {
  const root = record.mountpoint;
  const marker = await readMarker(root);
  if (!marker || marker.pool !== record.name) return;
  const driver = new DirDriver(ctx, record);
  for (const ds of await driver.listDatasets()) await driver.destroyDataset(ds.name);
  for (const s of await driver.listSnapshots()) await driver.destroySnapshot({ dataset: s.dataset, snapshot: s.name });
  await removeTree(ctx.exec, join(root, SNAPSHOTS_DIR));
  await removeTree(ctx.exec, join(root, WORK_DIR));
  await rm(join(root, META_DIR), { recursive: true, force: true });
  await rm(join(root, MARKER), { force: true });
  if (marker.createdDir) await removeMadeDirs(root, marker.createdDir);
}

/** rmdir of `root` and its parents up to `createdDir` (the first directory mkdir -p made), each only if empty. */
async function removeMadeDirs(root: string, createdDir: string): Promise<void> {
  if (root !== createdDir && !root.startsWith(createdDir + '/')) return;
  for (let d = root; ; d = dirname(d)) {
    try {
      await rmdir(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return;
      if (code !== 'ENOENT') throw e;
    }
    if (d === createdDir) return;
  }
}
