/**
 * Reading the host's OS view for a jail (the fs side of etc-mask.ts and accounts.ts): a
 * listing of /etc without following symbolic links, and the passwd and group files.
 * Done at every jail create and start, so a change on the host reaches the jail's next start.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
 *
 * Synchronous on purpose: a Debian /etc is about 1,200 entries, one lstat each; through the
 * thread pool that took 35-60 ms per jail start on the 2-core development machine, with
 * lstatSync 5-15 ms, a pause the agent's event loop can afford once per create or start.
 */
export async function scanEtc(root = HOST_ETC, opts: { targets?: boolean } = {}): Promise<EtcEntry[]> {
  const out: EtcEntry[] = [];
  const walk = (rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(rel ? join(root, rel) : root);
    } catch {
      return; // unreadable or gone meanwhile: it is listed (and masked) by its own entry, if at all
    }
    for (const name of names.sort()) {
      const p = rel ? `${rel}/${name}` : name;
      let st;
      try {
        st = lstatSync(join(root, p));
      } catch {
        continue; // removed between readdir and lstat: nothing to mask
      }
      const e: EtcEntry = { path: p, kind: kindOf(st), mode: st.mode & 0o7777 };
      if (opts.targets && e.kind === 'symlink') {
        try {
          e.target = readlinkSync(join(root, p));
        } catch {
          // gone meanwhile: listed without a target
        }
      }
      out.push(e);
      if (e.kind === 'dir') walk(p);
    }
  };
  walk('');
  return out;
}

/** The host's passwd and group text (empty when missing: every name is then unknown). */
export async function readAccountFiles(root = HOST_ETC): Promise<{ passwd: string; group: string }> {
  const read = (n: string) => readFile(join(root, n), 'utf8').catch(() => '');
  return { passwd: await read('passwd'), group: await read('group') };
}
