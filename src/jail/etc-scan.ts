/**
 * Reading the host's OS view for a jail (the fs side of etc-mask.ts and accounts.ts): a
 * listing of /etc without following symbolic links, and the passwd and group files.
 * Done at every jail create and start, so a change on the host reaches the jail's next start.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { EtcEntry, EtcKind } from './etc-mask.js';

/** Where the host's /etc is; "/etc" except in tests. */
export const HOST_ETC = '/etc';

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EtcKind {
  return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

/**
 * Every entry under `root`, depth first, paths relative to it. Unreadable directories are
 * listed but not entered (as root that does not happen; the masks cover them whole anyway).
 * `targets`: read each symbolic link's target too (host check follows them).
 */
export async function scanEtc(root = HOST_ETC, opts: { targets?: boolean } = {}): Promise<EtcEntry[]> {
  const out: EtcEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(rel ? join(root, rel) : root);
    } catch {
      return; // unreadable or gone meanwhile: it is listed (and masked) by its own entry, if at all
    }
    // one directory's entries at once: a Debian /etc holds about 1,200
    const entries = await Promise.all(names.sort().map(async (name): Promise<EtcEntry | undefined> => {
      const p = rel ? `${rel}/${name}` : name;
      let st;
      try {
        st = await lstat(join(root, p));
      } catch {
        return undefined; // removed between readdir and lstat: nothing to mask
      }
      const e: EtcEntry = { path: p, kind: kindOf(st), mode: st.mode & 0o7777 };
      if (opts.targets && e.kind === 'symlink') {
        const target = await readlink(join(root, p)).catch(() => undefined); // gone meanwhile: listed without a target
        if (target !== undefined) e.target = target;
      }
      return e;
    }));
    for (const e of entries) {
      if (!e) continue;
      out.push(e);
      if (e.kind === 'dir') await walk(e.path);
    }
  };
  await walk('');
  return out;
}

/** The host's passwd and group text (empty when missing: every name is then unknown). */
export async function readAccountFiles(root = HOST_ETC): Promise<{ passwd: string; group: string }> {
  const read = (n: string) => readFile(join(root, n), 'utf8').catch(() => '');
  return { passwd: await read('passwd'), group: await read('group') };
}
