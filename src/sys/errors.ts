/**
 * The four kinds of error (STYLE.md §13). The CLI's one handler prints each differently:
 * - UserError: bad input or a state the user must change. Message plus fix, exit 1, no stack.
 * - ExecError: an external command failed. Command line, exit code, trimmed stderr.
 * - NotSupportedError: the driver or host cannot do this; says what can.
 * - anything else: a bug in cellblock. Printed with its stack.
 */

export class UserError extends Error {
  override name = 'UserError';
  /** What the user should do about it, one sentence. */
  readonly fix: string | undefined;
  constructor(message: string, fix?: string) {
    super(message);
    this.fix = fix;
  }
}

/** A named thing that does not exist (pool, image, snapshot, jail). */
export class NotFoundError extends UserError {
  override name = 'NotFoundError';
}

/** A named thing that already exists. */
export class ExistsError extends UserError {
  override name = 'ExistsError';
}

/**
 * A part the request needs is not available right now and will be again without the user
 * changing anything (the cluster state while etcd starts or the host changes clusters). The
 * API answers 503; the fix says when to try again.
 */
export class UnavailableError extends UserError {
  override name = 'UnavailableError';
}

export class NotSupportedError extends Error {
  override name = 'NotSupportedError';
  constructor(what: string, readonly why?: string) {
    super(why ? `${what} is not supported: ${why}` : `${what} is not supported`);
  }
}

/**
 * How a failed command failed, classified by the driver that ran it (never by call sites).
 * 'bad-input': the tool refused what it was fed (a damaged or truncated stream).
 */
export type ExecFailure = 'failed' | 'not-found' | 'exists' | 'busy' | 'bad-input' | 'timeout' | 'aborted' | 'missing-tool';

export class ExecError extends Error {
  override name = 'ExecError';
  kind: ExecFailure;
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    kind: ExecFailure = 'failed',
    readonly signal: NodeJS.Signals | null = null,
  ) {
    super(ExecError.describe(argv, exitCode, stderr, kind, signal));
    this.kind = kind;
  }

  get command(): string {
    return this.argv.map(quoteForDisplay).join(' ');
  }

  static describe(argv: readonly string[], code: number | null, stderr: string, kind: ExecFailure, signal: NodeJS.Signals | null): string {
    const cmd = argv.map(quoteForDisplay).join(' ');
    let how: string;
    if (kind === 'missing-tool') how = `${argv[0]} is not installed (run: cellblock host bootstrap)`;
    else if (kind === 'timeout') how = 'timed out';
    else if (kind === 'aborted') how = 'was aborted';
    else if (signal) how = `was killed by ${signal}`;
    else how = `exited with code ${code}`;
    const err = stderr.trim();
    return `command failed: ${cmd}: ${how}${err ? `: ${err}` : ''}`;
  }
}

/** Quote an argument for display in messages only; nothing here is ever run through a shell. */
export function quoteForDisplay(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
