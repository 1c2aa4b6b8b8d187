/**
 * Command lines of the dir driver (STYLE.md §1-2): pure builders, tested by deep equality.
 * Paths reaching them are absolute (the pool root is resolved at create time), so none
 * can be read as an option.
 */

/**
 * A full copy of directory `src` as `dest` (which must not exist): owners, modes, times,
 * hard links, xattrs and ACLs kept. `--reflink=auto` shares extents where the filesystem can
 * (btrfs, xfs) and falls back to a plain copy elsewhere; `-T` never copies *into* `dest`.
 */
export function copyTree(src: string, dest: string): string[] {
  return ['cp', '-a', '--reflink=auto', '--no-target-directory', src, dest];
}

/** Options both ends of a tar stream use: numeric ids (jails have their own passwd), xattrs (file capabilities), ACLs. */
const TAR_COMMON = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];

/** A tar stream of the contents of `dir` (the `.` entry carries the root directory's owner, mode and times) on stdout. */
export function tarCreate(dir: string): string[] {
  return ['tar', '--create', '--file=-', `--directory=${dir}`, '--sparse', ...TAR_COMMON, '.'];
}

/** Extracts a tar stream from stdin into `dir` (which exists). As root, owners and modes are kept. */
export function tarExtract(dir: string): string[] {
  return ['tar', '--extract', '--file=-', `--directory=${dir}`, '--preserve-permissions', ...TAR_COMMON];
}

/** Sets (`+i`) or clears (`-i`) the immutable attribute of the given paths; with `recursive`, of everything below them too. */
export function chattrImmutable(on: boolean, paths: readonly string[], opts: { recursive?: boolean } = {}): string[] {
  return ['chattr', ...(opts.recursive ? ['-R'] : []), on ? '+i' : '-i', ...paths];
}
