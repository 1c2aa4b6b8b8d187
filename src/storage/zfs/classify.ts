/**
 * The one place the zfs driver decides how a tool failed (STYLE.md §5). zfs and zpool exit
 * 1 for every failure of an operation (2 for a usage error), so the exit code only says
 * "failed"; the kind comes from stderr. Call sites read `ExecError.kind`, never stderr.
 */
import { ExecError, type ExecFailure } from '../../sys/errors.js';
import type { Exec, ExecOptions, ExecResult } from '../../sys/exec.js';

// --- stderr patterns, as OpenZFS 2.1 (Debian 12's zfsutils-linux) prints them ---

/** Any command naming a dataset or snapshot that is not there: "cannot open 'tank/x': dataset does not exist". */
export const DOES_NOT_EXIST = /dataset does not exist/;
/** `zfs destroy tank/x@s` of a missing snapshot: "could not find any snapshots to destroy; check snapshot names.". */
export const NO_SNAPSHOTS_TO_DESTROY = /could not find any snapshots to destroy/;
/** A pool name that is not imported: "cannot open 'tank': no such pool". */
export const NO_SUCH_POOL = /no such pool/;
/** `zfs create`/`zfs snapshot`/`zfs clone` onto an existing name: "cannot create 'tank/x': dataset already exists". */
export const ALREADY_EXISTS = /dataset already exists/;
/** `zfs receive` of a full stream onto an existing dataset: "destination 'tank/x' exists\nmust specify -F to overwrite it". */
export const DESTINATION_EXISTS = /destination '[^']*' exists|destination already exists/;
/** Something holds the dataset (a mount in use, a hold, a running send): "cannot destroy 'tank/x': dataset is busy". */
export const BUSY = /dataset is busy|pool or dataset is busy/;
/** `zfs destroy` of a snapshot a clone was made from: "cannot destroy 'tank/x@s': snapshot has dependent clones". */
export const DEPENDENT_CLONES = /has dependent clones/;
/** `zfs receive` of a clone or incremental stream whose source is missing here: "local origin for clone tank/x does not exist". */
export const ORIGIN_MISSING = /local origin for clone .* does not exist|incremental source .* no longer exists/;

interface Rule { pattern: RegExp; kind: ExecFailure }

const RULES: Rule[] = [
  { pattern: DOES_NOT_EXIST, kind: 'not-found' },
  { pattern: NO_SNAPSHOTS_TO_DESTROY, kind: 'not-found' },
  { pattern: NO_SUCH_POOL, kind: 'not-found' },
  { pattern: ORIGIN_MISSING, kind: 'not-found' },
  { pattern: ALREADY_EXISTS, kind: 'exists' },
  { pattern: DESTINATION_EXISTS, kind: 'exists' },
  { pattern: DEPENDENT_CLONES, kind: 'busy' },
  { pattern: BUSY, kind: 'busy' },
];

/** Sets the kind of a failed zfs/zpool ExecError from its stderr; returns the error. */
export function classify(e: unknown): unknown {
  if (!(e instanceof ExecError) || e.kind !== 'failed' || e.exitCode !== 1) return e;
  if (e.argv[0] !== 'zfs' && e.argv[0] !== 'zpool') return e;
  const rule = RULES.find((r) => r.pattern.test(e.stderr));
  if (rule) e.kind = rule.kind;
  return e;
}

export function isKind(e: unknown, kind: ExecFailure): e is ExecError {
  return e instanceof ExecError && e.kind === kind;
}

/** Runs a zfs/zpool command; a failure is thrown classified. */
export async function run(exec: Exec, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  try {
    return await exec(argv, opts);
  } catch (e) {
    throw classify(e);
  }
}
