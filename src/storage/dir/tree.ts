/**
 * Whole-tree helpers of the dir driver: space used by a tree, making a tree immutable and
 * mutable again, removing a tree, finding records below a directory (paths and parent
 * directories: ../paths.ts).
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecError } from '../../sys/errors.js';
import type { Exec } from '../../sys/exec.js';
import type { SpaceUsage } from '../driver.js';
import { pathExists } from '../paths.js';
import * as argv from './argv.js';
import type { Protection } from './layout.js';

/**
 * Bytes the tree at `root` occupies on disk (allocated blocks, like `du`), each inode counted
 * once however many hard links it has. Nothing is shared between trees of a dir pool (reflinked
 * extents aside, which no tool reports cheaply), so what a tree refers to is also what it alone holds.
 */
export async function treeUsage(root: string): Promise<SpaceUsage> {
  const seen = new Set<string>();
  let bytes = 0;
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path, { bigint: true });
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) return;
      seen.add(key);
    }
    bytes += Number(st.blocks) * 512;
    if (!st.isDirectory()) return;
    const names = await readdir(path);
    // A bounded fan-out: siblings in parallel, subtrees one level at a time.
    for (let i = 0; i < names.length; i += 64) {
      await Promise.all(names.slice(i, i + 64).map((n) => visit(join(path, n))));
    }
  };
  await visit(root);
  return { referenced: bytes, exclusive: bytes };
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Makes the tree at `root` immutable (`chattr +i`): not even root can then write, rename or
 * delete anything in it. Needs CAP_LINUX_IMMUTABLE and a filesystem with the attribute (ext4,
 * xfs, btrfs; not every tmpfs or overlay). Where either is missing, the tree stays as it is
 * and is read-only by convention only ("convention"): file modes are never changed, since
 * they are part of the snapshot (a clone or a received copy must get them back unchanged).
 */
export async function freeze(exec: Exec, root: string): Promise<Protection> {
  if (!isRoot()) return 'convention';
  try {
    // Probe on the top directory alone: it says whether the attribute can be set here at all.
    await exec(argv.chattrImmutable(true, [root]));
  } catch (e) {
    if (e instanceof ExecError && e.kind === 'failed') return 'convention';
    throw e;
  }
  // Exit code 1 of a recursive chattr also reports the entries that cannot carry the
  // attribute (symlinks, device nodes, fifos, sockets; e2fsprogs 1.47: "Operation not supported
  // while reading flags"); they cannot be changed in place anyway: their directory is immutable.
  await exec(argv.chattrImmutable(true, [root], { recursive: true }), { okCodes: [0, 1], timeoutMs: 0 });
  return 'immutable';
}

/** Undoes freeze() (a no-op where it could not have been done). */
export async function thaw(exec: Exec, root: string): Promise<void> {
  if (!isRoot() || !(await pathExists(root))) return;
  // Exit code 1: entries without the attribute (see freeze); a real failure shows when removing.
  await exec(argv.chattrImmutable(false, [root], { recursive: true }), { okCodes: [0, 1], timeoutMs: 0 });
}

/** Removes a tree, immutable or not. Missing = no-op. */
export async function removeTree(exec: Exec, path: string, opts: { frozen?: boolean } = {}): Promise<void> {
  if (opts.frozen !== false) await thaw(exec, path);
  await rm(path, { recursive: true, force: true });
}

/** Relative paths of the files and directories below `root` for which `pick` says yes; directories it says no to are descended. */
export async function findBelow(root: string, pick: (rel: string, isDir: boolean) => boolean): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(rel ? join(root, rel) : root, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const d of entries) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (pick(r, d.isDirectory())) out.push(r);
      else if (d.isDirectory()) await visit(r);
    }
  };
  await visit('');
  return out.sort();
}
