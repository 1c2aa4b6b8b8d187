/**
 * `image build NAME:TAG DIR [--from NAME:TAG]`: a read-only image from a directory. With a
 * parent, the new image starts as a clone of the parent's snapshot and rsync writes only the
 * files that differ (by checksum), and of those only the blocks that differ (in place, delta
 * transfer), so on CoW drivers tags of one name share their unchanged blocks and `btrfs send
 * -p` carries only the changed blocks. Link groups of the clone that the source no longer has
 * are broken first (./links.ts), so an in-place write never reaches another name.
 */
import { stat } from 'node:fs/promises';
import type { Exec } from '../../sys/exec.js';
import { ExistsError, UserError } from '../../sys/errors.js';
import { formatImageRef, type ImageRef } from '../../sys/names.js';
import { Revert } from '../../sys/revert.js';
import type { StorageDriver } from '../driver.js';
import { prepareInPlace } from './links.js';
import { getImage, imageDataset, imageSnapshot, newestImage, readImage, writeImage, type ImageRecord } from './store.js';

export interface BuildOptions {
  exec: Exec;
  dataDir: string;
  driver: StorageDriver;
  ref: ImageRef;
  dir: string;
  /** Explicit parent; undefined = newest tag of the same name; null = none. */
  from?: ImageRef | null;
  now?: () => Date;
}

/**
 * argv for copying a directory's contents into a dataset, writing only what differs: files
 * chosen by checksum (a checkout's times say nothing), written in place by delta transfer
 * (rsync copies a local file whole unless told --no-whole-file), so unchanged blocks of a
 * changed file stay shared with the parent. The destination's link groups must already be
 * the source's or single files (prepareInPlace).
 */
export function rsyncArgv(src: string, dest: string): string[] {
  return [
    'rsync', '--archive', '--hard-links', '--acls', '--xattrs', '--delete', '--checksum', '--inplace', '--no-whole-file', '--quiet',
    `${src.replace(/\/+$/, '')}/`, `${dest.replace(/\/+$/, '')}/`,
  ];
}

export interface BuildCheck {
  dataDir: string;
  ref: ImageRef;
  dir: string;
  from?: ImageRef | null;
  /** Name of the pool the image is to be built in. */
  pool: string;
}

/**
 * The refusals of a build that need no pool: run before the pool is opened (the default pool
 * is created on first use, and bad input must change nothing). Returns the parent, if any.
 */
export async function checkBuild(o: BuildCheck): Promise<ImageRecord | undefined> {
  const st = await stat(o.dir).catch(() => undefined); // missing or unreadable: refused just below
  if (!st?.isDirectory()) throw new UserError(`${o.dir} is not a directory`, 'give the directory holding the application files, for example examples/site');
  if (await readImage(o.dataDir, o.ref)) {
    throw new ExistsError(`image ${formatImageRef(o.ref)} already exists`, `build a new tag, or remove it first with: cellblock image rm ${formatImageRef(o.ref)}`);
  }
  let parent: ImageRecord | undefined;
  if (o.from) parent = await getImage(o.dataDir, o.from);
  else if (o.from === undefined) parent = await newestImage(o.dataDir, o.ref.name, o.pool);
  if (parent && parent.pool !== o.pool) {
    throw new UserError(`parent image ${formatImageRef(parent)} is in pool ${parent.pool}, not ${o.pool}`, 'build in the parent\'s pool (--pool), or pass --no-parent');
  }
  return parent;
}

export async function buildImage(o: BuildOptions): Promise<ImageRecord> {
  const { driver, ref } = o;
  const parent = await checkBuild({ dataDir: o.dataDir, ref, dir: o.dir, from: o.from, pool: driver.pool.name });
  const ds = imageDataset(ref);
  const rec = await Revert.run(async (r) => {
    if (await driver.datasetExists(ds)) await driver.destroyDataset(ds); // leftover of an interrupted build: no record points at it
    if (parent) await driver.clone(imageSnapshot(parent), ds);
    else await driver.createDataset(ds);
    r.add(`remove dataset ${ds}`, () => driver.destroyDataset(ds));
    if (parent) await prepareInPlace(o.exec, o.dir, driver.datasetPath(ds));
    await o.exec(rsyncArgv(o.dir, driver.datasetPath(ds)), { timeoutMs: 0 });
    await driver.createSnapshot(imageSnapshot(ref));
    r.add(`remove snapshot ${ds}@image`, () => driver.destroySnapshot(imageSnapshot(ref)));
    const rec: ImageRecord = {
      name: ref.name,
      tag: ref.tag,
      pool: driver.pool.name,
      parent: parent ? { name: parent.name, tag: parent.tag } : null,
      createdAt: (o.now ?? (() => new Date()))().toISOString(),
      origin: 'build',
    };
    await writeImage(o.dataDir, rec);
    return rec;
  });
  // The writable head is no longer needed: the snapshot is the image. A failure here only
  // leaves a head that costs no space of its own on CoW drivers; the image stands.
  if (driver.info.snapshotsOutliveDataset) await driver.destroyDataset(ds, { keepSnapshots: true });
  return rec;
}
