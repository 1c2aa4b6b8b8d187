/**
 * Where a jail's cgroups live, and removal of the parents cellblock makes for them.
 *
 * runc creates `cgroupsPath` (/cellblock/<instance>/<jail>, see naming.ts) under every
 * mounted cgroup hierarchy (v1: one per controller, plus the unified tree on hybrid
 * hosts; v2: the unified tree) and removes the jail's own dir on delete, but not its
 * parents. removeCgroupParents() removes /cellblock/<instance> (and /cellblock when it is
 * empty) so a destroyed instance leaves nothing.
 */
import { readFile, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface CgroupMount { name: string; dir: string }

/** cgroup and cgroup2 mount points from /proc/self/mountinfo text (pure). v1 mounts are named by their dir. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const mountPoint = pre.split(' ')[4];
    const fstype = post.split(' ')[0];
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') out.push({ name: 'unified', dir: mountPoint });
    else if (fstype === 'cgroup') out.push({ name: basename(mountPoint), dir: mountPoint });
  }
  return out;
}

/** Hierarchy name -> the dir of `cgroupPath` in it (pure). */
export function cgroupDirsIn(mounts: readonly CgroupMount[], cgroupPath: string): Record<string, string> {
  return Object.fromEntries(mounts.map((m) => [m.name, join(m.dir, cgroupPath)]));
}

export async function cgroupMounts(): Promise<CgroupMount[]> {
  return parseCgroupMounts(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** Hierarchy name -> dir of `cgroupPath` on this host. */
export async function cgroupDirs(cgroupPath: string): Promise<Record<string, string>> {
  return cgroupDirsIn(await cgroupMounts(), cgroupPath);
}

async function rmdirIfEmpty(dir: string): Promise<void> {
  try {
    await rmdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOENT: never made or already gone; ENOTEMPTY/EBUSY: still holds a jail's cgroup
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EBUSY') throw e;
  }
}

/** Removes /cellblock/<instance> and then /cellblock in every hierarchy, where empty. */
export async function removeCgroupParents(instance: string): Promise<void> {
  for (const m of await cgroupMounts()) {
    await rmdirIfEmpty(join(m.dir, 'cellblock', instance));
    await rmdirIfEmpty(join(m.dir, 'cellblock'));
  }
}
