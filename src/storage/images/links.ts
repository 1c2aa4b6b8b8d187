/**
 * Hard links and in-place writes. A build writes a changed file in place (rsync --inplace),
 * so only its changed blocks stop being shared with the parent image. In place means through
 * the inode: every other name of a multiply-linked file in the clone sees the write. So before
 * rsync runs, every link group of the clone that is not wholly inside one link group of the
 * source is broken into separate files (a reflink copy renamed over each name; cheap on CoW
 * pools); rsync --hard-links then links the names as the source has them.
 */
import { constants } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Exec } from '../../sys/exec.js';

/** A link group: the names (relative paths) of one multiply-linked regular file in one tree. */
export type LinkGroup = string[];

/** argv listing the multiply-linked regular files under dir as `DEV INODE PATH\0` records. */
export function linkedFilesArgv(dir: string): string[] {
  return ['find', dir, '-type', 'f', '-links', '+1', '-printf', '%D %i %P\\0'];
}

/** Groups the records of linkedFilesArgv by device and inode; names sorted, groups by first name. */
export function parseLinkedFiles(stdout: string): LinkGroup[] {
  const byInode = new Map<string, string[]>();
  for (const rec of stdout.split('\0')) {
    const m = /^(\d+) (\d+) ([^]+)$/.exec(rec);
    if (!m) continue; // the empty record after the last \0
    const key = `${m[1]} ${m[2]}`;
    const names = byInode.get(key) ?? [];
    names.push(m[3]!);
    byInode.set(key, names);
  }
  return [...byInode.values()].map((g) => g.sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/**
 * The names of the clone to break before an in-place rsync: every name of each clone group
 * whose names are not all in a single source group (a link broken, a name gone, moved to
 * another group, or now a directory or symlink). A clone group inside one source group may
 * be written in place: all its names are to get the same new content.
 */
export function linksToBreak(clone: readonly LinkGroup[], source: readonly LinkGroup[]): string[] {
  const groupOf = new Map<string, number>();
  source.forEach((g, i) => { for (const n of g) groupOf.set(n, i); });
  const out: string[] = [];
  for (const g of clone) {
    const first = groupOf.get(g[0]!);
    if (first === undefined || g.some((n) => groupOf.get(n) !== first)) out.push(...g);
  }
  return out.sort();
}

/** The multiply-linked files under dir (find through exec). */
export async function linkGroups(exec: Exec, dir: string): Promise<LinkGroup[]> {
  const { stdout } = await exec(linkedFilesArgv(dir), { timeoutMs: 0 });
  return parseLinkedFiles(stdout);
}

/**
 * Gives each name its own inode with the same contents: a reflink copy where the file system
 * shares extents (a plain copy elsewhere) renamed over the name. Modes, owners and times of
 * the copies are rsync's to set.
 */
export async function breakLinks(root: string, names: readonly string[]): Promise<void> {
  // One temporary name at the top (a name beside the file could exceed NAME_MAX); should the
  // source hold a file of that name, rsync writes it afterwards like any other.
  const tmp = join(root, '.cellblock-unlink.tmp');
  for (const n of names) {
    const p = join(root, n);
    try {
      await copyFile(p, tmp, constants.COPYFILE_FICLONE);
      await rename(tmp, p);
    } catch (e) {
      await rm(tmp, { force: true }); // the copy's own leftover; the error below says what failed
      throw e;
    }
  }
}

/** Breaks the clone's link groups that the source no longer has (see linksToBreak). */
export async function prepareInPlace(exec: Exec, source: string, clone: string): Promise<string[]> {
  const [src, dst] = await Promise.all([linkGroups(exec, source), linkGroups(exec, clone)]);
  const names = linksToBreak(dst, src);
  await breakLinks(clone, names);
  return names;
}
