/**
 * The one place the zfs driver decides how a tool failed (STYLE.md §5). zfs and zpool exit
 * 1 for every failure of an operation (2 for a usage error), so the exit code only says
 * "failed"; the kind comes from stderr. Call sites read `ExecError.kind`, never stderr.
 */
import { classifiedRun, classifier, type Rule } from '../classify.js';

export { isKind } from '../classify.js';

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

const ZFS = ['zfs', 'zpool'];

const RULES: Rule[] = [
  { tool: ZFS, codes: [1], pattern: DOES_NOT_EXIST, kind: 'not-found' },
  { tool: ZFS, codes: [1], pattern: NO_SNAPSHOTS_TO_DESTROY, kind: 'not-found' },
  { tool: ZFS, codes: [1], pattern: NO_SUCH_POOL, kind: 'not-found' },
  { tool: ZFS, codes: [1], pattern: ORIGIN_MISSING, kind: 'not-found' },
  { tool: ZFS, codes: [1], pattern: ALREADY_EXISTS, kind: 'exists' },
  { tool: ZFS, codes: [1], pattern: DESTINATION_EXISTS, kind: 'exists' },
  { tool: ZFS, codes: [1], pattern: DEPENDENT_CLONES, kind: 'busy' },
  { tool: ZFS, codes: [1], pattern: BUSY, kind: 'busy' },
];

/** Sets the kind of a failed zfs/zpool ExecError (exit code 1) from its stderr; returns the error. */
export const classify: (e: unknown) => unknown = classifier(RULES);

/** Runs a zfs/zpool command; a failure is thrown classified. */
export const run = classifiedRun(classify);
