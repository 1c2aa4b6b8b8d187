/**
 * The one place the btrfs driver decides how a tool failed (STYLE.md §5): by exit code
 * first, stderr second. Call sites read `ExecError.kind`, never stderr.
 */
import { ExecError, type ExecFailure } from '../../sys/errors.js';
import type { Exec, ExecOptions, ExecResult } from '../../sys/exec.js';

interface Rule {
  /** argv[0] the rule applies to; undefined = any tool. */
  tool?: string;
  /** Exit codes the rule applies to; undefined = any non-zero code. */
  codes?: number[];
  pattern: RegExp;
  kind: ExecFailure;
}

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

/** Sets `kind` on a plain failure ('failed') of one of the driver's tools; other kinds are kept. */
export function classify(e: ExecError): ExecError {
  if (e.kind !== 'failed' || e.exitCode === null || e.exitCode === 0) return e;
  const tool = e.argv[0]?.split('/').pop();
  for (const r of RULES) {
    if (r.tool !== undefined && r.tool !== tool) continue;
    if (r.codes !== undefined && !r.codes.includes(e.exitCode)) continue;
    if (r.pattern.test(e.stderr)) {
      e.kind = r.kind;
      break;
    }
  }
  return e;
}

/** ctx.exec with failures classified. */
export async function run(exec: Exec, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  try {
    return await exec(argv, opts);
  } catch (e) {
    if (e instanceof ExecError) classify(e);
    throw e;
  }
}

export function isKind(e: unknown, kind: ExecFailure): e is ExecError {
  return e instanceof ExecError && e.kind === kind;
}
