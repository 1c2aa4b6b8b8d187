/**
 * Image records: DATA_DIR/images/NAME/TAG.json. An image NAME:TAG is the read-only snapshot
 * `images/NAME/TAG@image` in a pool; the record says which pool, and which image it was built
 * from (its parent), so `image ls` can show lineage and `image export --since` can send only
 * the difference.
 */
import { join } from 'node:path';
import { readdir, rmdir } from 'node:fs/promises';
import { NotFoundError } from '../../sys/errors.js';
import { listJson, readJson, removeFile, writeJsonAtomic } from '../../sys/fsutil.js';
import { checkName, formatImageRef, type ImageRef, type SnapshotRef } from '../../sys/names.js';

export interface ImageRecord {
  name: string;
  tag: string;
  pool: string;
  /** The image this one was built from (its blocks are shared on CoW drivers), or null. */
  parent: ImageRef | null;
  createdAt: string;
  /** How it arrived: built here or imported from a stream. */
  origin: 'build' | 'import';
}

export const IMAGE_SNAPSHOT = 'image';

export function imageDataset(ref: ImageRef): string {
  return `images/${ref.name}/${ref.tag}`;
}

export function imageSnapshot(ref: ImageRef): SnapshotRef {
  return { dataset: imageDataset(ref), snapshot: IMAGE_SNAPSHOT };
}

export function imagesDir(dataDir: string): string {
  return join(dataDir, 'images');
}

function recordPath(dataDir: string, ref: ImageRef): string {
  return join(imagesDir(dataDir), checkName('image', ref.name), `${checkName('tag', ref.tag)}.json`);
}

export async function readImage(dataDir: string, ref: ImageRef): Promise<ImageRecord | undefined> {
  return readJson<ImageRecord>(recordPath(dataDir, ref));
}

export async function getImage(dataDir: string, ref: ImageRef): Promise<ImageRecord> {
  const r = await readImage(dataDir, ref);
  if (!r) throw new NotFoundError(`image ${formatImageRef(ref)} does not exist`, 'see the images there are with: cellblock image ls');
  return r;
}

export async function writeImage(dataDir: string, rec: ImageRecord): Promise<void> {
  await writeJsonAtomic(recordPath(dataDir, rec), rec, 0o644);
}

export async function removeImageRecord(dataDir: string, ref: ImageRef): Promise<void> {
  await removeFile(recordPath(dataDir, ref));
  await rmdir(join(imagesDir(dataDir), ref.name)).catch(() => { /* other tags remain */ });
}

/** All images, sorted by name then creation time. */
export async function listImages(dataDir: string, name?: string): Promise<ImageRecord[]> {
  let names: string[];
  try {
    names = name ? [checkName('image', name)] : (await readdir(imagesDir(dataDir))).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: ImageRecord[] = [];
  for (const n of names) {
    for (const t of await listJson(join(imagesDir(dataDir), n))) {
      const r = await readJson<ImageRecord>(join(imagesDir(dataDir), n, `${t}.json`));
      if (r) out.push(r);
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.createdAt.localeCompare(b.createdAt));
}

/** The newest tag of `name` (the default parent of a new build), if any. */
export async function newestImage(dataDir: string, name: string, pool: string): Promise<ImageRecord | undefined> {
  const all = (await listImages(dataDir, name)).filter((r) => r.pool === pool);
  return all[all.length - 1];
}

/** Images whose parent is `ref` (they must go before it can be removed). */
export async function childrenOf(dataDir: string, ref: ImageRef): Promise<ImageRecord[]> {
  return (await listImages(dataDir)).filter((r) => r.parent?.name === ref.name && r.parent.tag === ref.tag);
}
