/**
 * What the OCI builder needs to know about this host, found by looking (read-only): merged
 * /usr (lstat of /bin and friends), cgroup version, cgroup namespaces, swap accounting.
 */
import { lstat, readFile, readlink } from 'node:fs/promises';
import { isFile, pathExists } from '../sys/fsutil.js';
import type { HostInfo } from './oci.js';

/** Top-level dirs that hold parts of the OS on hosts with or without merged /usr. */
export const OS_ROOT_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];



async function rootDirKind(root: string, name: string): Promise<'usr-link' | 'dir' | 'other' | 'missing'> {
  try {
    const st = await lstat(`${root}/${name}`);
    if (st.isSymbolicLink()) {
      const target = await readlink(`${root}/${name}`);
      return target === `usr/${name}` || target === `/usr/${name}` ? 'usr-link' : 'other';
    }
    return st.isDirectory() ? 'dir' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw e;
  }
}

/**
 * `root` is "/" except in tests. /usr counts as merged when every present OS dir is a
 * symlink into usr/; `hostRootDirs` lists the present ones either way (the skeleton gets
 * symlinks for them on merged hosts, the mounts read-only binds on the others).
 */
export async function probeHost(root = '/'): Promise<HostInfo> {
  const r = root === '/' ? '' : root;
  const kinds = await Promise.all(OS_ROOT_DIRS.map(async (d) => [d, await rootDirKind(r, d)] as const));
  const present = kinds.filter(([, k]) => k === 'usr-link' || k === 'dir').map(([d]) => d);
  const usrMerged = kinds.every(([, k]) => k === 'usr-link' || k === 'missing');
  const v2 = await isFile(`${r}/sys/fs/cgroup/cgroup.controllers`);
  let swapAccounting: boolean;
  if (v2) {
    const own = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '/';
    swapAccounting = await isFile(`${r}/sys/fs/cgroup${own === '/' ? '' : own}/memory.swap.max`);
  } else {
    swapAccounting = await isFile(`${r}/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes`);
  }
  return {
    arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64',
    usrMerged,
    hostRootDirs: present,
    cgroupVersion: v2 ? 2 : 1,
    cgroupNamespace: await exists('/proc/self/ns/cgroup'),
    swapAccounting,
    ...((await isFile(`${r}${TINI}`)) ? { init: TINI } : {}),
  };
}

/** Debian package tini; ships under /usr, which every jail shares. */
export const TINI = '/usr/bin/tini';

const exists = pathExists;
