/**
 * Which paths of the host's /etc a jail must not see (pure): a function of a listing of /etc
 * (made by etc-scan.ts) and the paths the jail spec asks for by name.
 *
 * A jail gets the host's /etc read-only, and a jail runs as root by default, with
 * CAP_DAC_OVERRIDE: it could read /etc/shadow. So every entry that the host keeps from other
 * users (not world-readable; a directory also when it is not world-searchable, which hides
 * everything under it) is masked: an empty read-only file is bound over a file, an empty
 * read-only tmpfs mounted over a directory (oci.ts). Not runc's `linux.maskedPaths`: it binds
 * /dev/null, which takes writes, and a jail must not be able to write anywhere under /etc.
 *
 * - A masked directory is one mask: nothing under it is listed.
 * - Symbolic links are never masked (their own mode is always 777); what they point to is
 *   judged where it lives. A link inside /etc to a masked path leads to the mask; a link out
 *   of /etc is not followed (the jail's view of its target is the target mount's business).
 * - A path the spec asks for (`etc: { ssl/private: host }`) is not masked, nor anything under
 *   it. When it lies inside a hidden directory, that directory is opened only along the way:
 *   each of its other entries is masked, readable or not, as the host's mode hides them all.
 */

export type EtcKind = 'file' | 'dir' | 'symlink' | 'other';

/** One entry of the host's /etc. `path` is relative to /etc ("ssl/private"), never "". */
export interface EtcEntry {
  path: string;
  kind: EtcKind;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** A symbolic link's target, when the scan was asked for them (host check). */
  target?: string;
}

/** The host keeps it from other users: not world-readable, or a directory not world-searchable. */
export function hiddenOnHost(e: EtcEntry): boolean {
  if (e.kind === 'symlink') return false;
  if ((e.mode & 0o004) === 0) return true;
  return e.kind === 'dir' && (e.mode & 0o001) === 0;
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

interface Node { entry: EtcEntry; children: Node[] }

function tree(listing: readonly EtcEntry[]): Node[] {
  const byPath = new Map<string, Node>();
  const roots: Node[] = [];
  for (const entry of [...listing].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const node: Node = { entry, children: [] };
    byPath.set(entry.path, node);
    const slash = entry.path.lastIndexOf('/');
    const parent = slash < 0 ? undefined : byPath.get(entry.path.slice(0, slash));
    if (parent) parent.children.push(node);
    else if (slash < 0) roots.push(node);
    // an entry whose parent is not listed (the scan could not read it) is left out: its parent is masked or absent
  }
  return roots;
}

/** One path to mask: a directory gets an empty tmpfs, anything else an empty file. */
export interface EtcMask { path: string; dir: boolean }

/**
 * What to mask, as absolute jail paths ("/etc/shadow"), sorted. `unmask` holds paths
 * relative to /etc that the jail shows anyway: asked for explicitly, or laid over.
 */
export function etcMasks(listing: readonly EtcEntry[], unmask: readonly string[] = []): EtcMask[] {
  const out: EtcMask[] = [];
  const visit = (n: Node, inheritedHidden: boolean): void => {
    const p = n.entry.path;
    if (unmask.some((u) => under(p, u))) return; // asked for: shown, with all it holds
    const hidden = inheritedHidden || hiddenOnHost(n.entry);
    const wantedBelow = unmask.some((u) => u.startsWith(`${p}/`));
    if (hidden && !(wantedBelow && n.entry.kind === 'dir')) {
      if (n.entry.kind !== 'symlink') out.push({ path: `/etc/${p}`, dir: n.entry.kind === 'dir' });
      return;
    }
    for (const c of n.children) visit(c, hidden);
  };
  for (const r of tree(listing)) visit(r, false);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
