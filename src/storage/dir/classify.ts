/**
 * The one place the dir driver decides how a tool failed (STYLE.md §5). Of its tools only tar
 * fails in ways a caller branches on: a stream that is not (or no longer) a tar archive.
 * `cp` and `chattr` failures stay 'failed' (chattr's probe in ./tree.ts only asks whether it
 * failed at all). Call sites read `ExecError.kind`, never stderr.
 */
import { classifiedRun, classifier, type Rule } from '../classify.js';

export { isKind } from '../classify.js';

// --- stderr patterns, as GNU tar 1.34 (Debian 12) prints them ---

/** Input that is not a tar archive: "tar: This does not look like a tar archive". */
export const NOT_TAR = /does not look like a tar archive/;
/** A stream cut inside a member: "tar: Unexpected EOF in archive". */
export const UNEXPECTED_EOF = /Unexpected EOF in archive/;
/** A damaged header in the middle: "tar: Skipping to next header", "tar: Damaged tar archive". */
export const DAMAGED = /Skipping to next header|Damaged tar archive|Archive base-64 string is invalid/;

const RULES: Rule[] = [
  { tool: 'tar', pattern: NOT_TAR, kind: 'bad-input' },
  { tool: 'tar', pattern: UNEXPECTED_EOF, kind: 'bad-input' },
  { tool: 'tar', pattern: DAMAGED, kind: 'bad-input' },
];

/** Sets the kind of a failed tar ExecError from its stderr; other errors are kept. */
export const classify = classifier(RULES);

/** ctx.exec with failures classified. */
export const run = classifiedRun(classify);
