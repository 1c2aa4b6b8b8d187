/**
 * What a jail sees of the host's /etc, worked out when its bundle is written (at create and
 * at every start): the host's listing and accounts (etc-scan.ts), the spec's `etc` entries
 * checked against the host and the image, and the masks (etc-mask.ts).
 */
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../sys/errors.js';
import { etcMasks, type EtcEntry } from './etc-mask.js';
import { readAccountFiles, scanEtc, HOST_ETC } from './etc-scan.js';
import { ETC_HOST } from './etc-spec.js';
import type { JailSpec } from './model.js';
import type { EtcView } from './oci.js';

export interface HostEtc {
  /** The host's /etc ("/etc" except in tests). */
  root: string;
  listing: EtcEntry[];
  accounts: { passwd: string; group: string };
}

export async function readHostEtc(root = HOST_ETC): Promise<HostEtc> {
  const [listing, accounts] = await Promise.all([scanEtc(root), readAccountFiles(root)]);
  return { root, listing, accounts };
}

/** The view of a jail whose own files in BUNDLE/etc are `own` (pure). */
export function etcViewOf(spec: JailSpec, hostEtc: HostEtc, own: readonly string[]): EtcView {
  // every path the spec names is shown: "host" ones as the host has them, the others from the
  // image; the jail's own files replace the host's, so they need no mask either
  const shown = [...Object.keys(spec.etc ?? {}), ...own];
  return { hostEtc: hostEtc.root, own: [...own].sort(), masked: etcMasks(hostEtc.listing, shown) };
}

async function kind(p: string): Promise<'dir' | 'file' | undefined> {
  try {
    return (await stat(p)).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined; // missing: the callers say so with the path
  }
}

/**
 * Each `etc` entry against the host and the image: the path exists under the host's /etc
 * (runc cannot make a mount point in a read-only /etc), and an image source exists, is of the
 * same kind, and has no symbolic link on its way (a bind mount's source is resolved on the
 * host, so a link in the image could point at the host's /etc/shadow).
 */
export async function checkEtcSpec(spec: JailSpec, hostEtc: HostEtc): Promise<void> {
  for (const [p, source] of Object.entries(spec.etc ?? {})) {
    const target = await kind(join(hostEtc.root, p));
    if (target === undefined) {
      throw new UserError(`etc: /etc/${p} does not exist on this host`,
        source === ETC_HOST
          ? `remove the entry, or create /etc/${p} on the host`
          : `a jail can only lay files over paths the host has (its /etc is read-only); create /etc/${p} on the host (it may be empty), or point the program at ${source} directly`);
    }
    if (source === ETC_HOST) continue;
    const onHost = join(spec.imagePath, source.slice('/app'.length));
    const src = await kind(onHost);
    if (src === undefined) throw new UserError(`etc: /etc/${p}: ${source} is not in image ${spec.image.name}:${spec.image.tag}`, `add it to the image, or fix the path`);
    const real = await realpath(onHost);
    if (real !== onHost) throw new UserError(`etc: /etc/${p}: ${source} in the image is or goes through a symbolic link`, 'give the path of the real file or directory in the image');
    if (src !== target) throw new UserError(`etc: /etc/${p} is a ${target} on this host but ${source} is a ${src}`, `give a ${target} of the image for /etc/${p}`);
  }
}
