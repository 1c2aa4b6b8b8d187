/**
 * The one place the btrfs driver decides how a tool failed (STYLE.md §5): by exit code
 * first, stderr second. Call sites read `ExecError.kind`, never stderr.
 */
import { classifiedRun, classifier, type Rule } from '../classify.js';

export { isKind } from '../classify.js';

// --- stderr patterns, with the tool version that prints them (Debian 12) ---

/** btrfs-progs 6.2, any path argument that is gone: "ERROR: Could not statfs: No such file or directory". */
export const NO_SUCH_FILE = /No such file or directory/;
/** btrfs-progs 6.2 `btrfs send` of a path that does not resolve: "ERROR: unable to resolve mnt/nope". */
export const SEND_UNRESOLVED = /unable to resolve/;
/** btrfs-progs 6.2 `btrfs receive` of an incremental stream whose parent is missing: "ERROR: cannot find parent subvolume". */
export const RECEIVE_NO_PARENT = /cannot find parent subvolume/;
/** util-linux 2.38 `losetup -d` of a device that is not attached: "detach failed: No such device or address". */
export const LOOP_NOT_ATTACHED = /No such device or address/;
/** util-linux 2.38 `umount` of a path that is not a mount point: "umount: /x: not mounted.". */
export const NOT_MOUNTED = /not mounted/;
/** btrfs-progs 6.2 `btrfs subvolume create` onto an existing path: "ERROR: target path already exists: mnt/a". */
export const TARGET_EXISTS = /target path already exists/;
/** btrfs-progs 6.2 `btrfs receive` onto an existing name: "ERROR: creating subvolume x failed: File exists". */
export const FILE_EXISTS = /File exists/;
/** util-linux 2.38 `umount` while something uses the mount: "umount: /x: target is busy.". */
export const TARGET_BUSY = /target is busy/;
/** Kernel EBUSY as btrfs-progs 6.2 and losetup 2.38 print it: "Device or resource busy". */
export const RESOURCE_BUSY = /Device or resource busy/;
/** btrfs-progs 6.2 `btrfs subvolume delete` of a subvolume with subvolumes inside: "Directory not empty". */
export const NOT_EMPTY = /Directory not empty/;

const RULES: Rule[] = [
  { tool: 'umount', codes: [32], pattern: NOT_MOUNTED, kind: 'not-found' },
  { tool: 'umount', codes: [32], pattern: TARGET_BUSY, kind: 'busy' },
  { tool: 'losetup', pattern: LOOP_NOT_ATTACHED, kind: 'not-found' },
  { tool: 'btrfs', pattern: RECEIVE_NO_PARENT, kind: 'not-found' },
  { tool: 'btrfs', pattern: SEND_UNRESOLVED, kind: 'not-found' },
  { tool: 'btrfs', pattern: TARGET_EXISTS, kind: 'exists' },
  { tool: 'btrfs', pattern: FILE_EXISTS, kind: 'exists' },
  { tool: 'btrfs', pattern: NOT_EMPTY, kind: 'busy' },
  { pattern: RESOURCE_BUSY, kind: 'busy' },
  { pattern: NO_SUCH_FILE, kind: 'not-found' },
];

/** Sets `kind` on a plain failure ('failed') of one of the driver's tools; other kinds (and other errors) are kept. */
export const classify = classifier(RULES);

/** ctx.exec with failures classified. */
export const run = classifiedRun(classify);
