/**
 * The one failure policy for logs: an error is logged with everything that explains it.
 *
 * - an ExecError keeps its command, exit code, signal, kind and trimmed stderr;
 * - a UserError (or NotFoundError, ExistsError) keeps its message and fix, no stack: it is a
 *   state the operator changes, not a bug;
 * - anything else is a bug or an unexpected failure: message and stack (and its `code`, e.g.
 *   ENOENT, and its cause).
 *
 * Use `logError(log, err, 'what failed; what happens next')` instead of `{ err: { message } }`,
 * which drops the command, the stderr and the stack. A catch that drops an error on purpose
 * says why in one comment line instead (`// best effort: ...`).
 */
import type { Logger } from 'pino';
import { ExecError, NotSupportedError, UserError } from './errors.js';

/** What a log line keeps of an error (pino serialises it as `err`). */
export interface ErrorFields {
  kind: 'exec' | 'user' | 'not-supported' | 'bug';
  type: string;
  message: string;
  command?: string;
  exitCode?: number | null;
  signal?: string | null;
  failure?: string;
  stderr?: string;
  fix?: string;
  code?: string;
  stack?: string;
  cause?: ErrorFields;
}

const STDERR_MAX = 4000;

/** The fields of err worth logging, for any thrown value. */
export function errorFields(err: unknown, depth = 0): ErrorFields {
  if (err instanceof ExecError) {
    return {
      kind: 'exec', type: err.name, message: err.message, command: err.command, exitCode: err.exitCode,
      signal: err.signal, failure: err.kind, stderr: err.stderr.trim().slice(-STDERR_MAX),
    };
  }
  if (err instanceof UserError) {
    return { kind: 'user', type: err.name, message: err.message, ...(err.fix ? { fix: err.fix } : {}) };
  }
  if (err instanceof NotSupportedError) return { kind: 'not-supported', type: err.name, message: err.message };
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = (err as { cause?: unknown }).cause;
    return {
      kind: 'bug', type: err.name, message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
      ...(cause !== undefined && depth < 3 ? { cause: errorFields(cause, depth + 1) } : {}),
    };
  }
  return { kind: 'bug', type: typeof err, message: String(err) };
}

/** Logs err at error level with its full data; `extra` adds fields (jail, host, image...). */
export function logError(log: Logger, err: unknown, msg: string, extra: Record<string, unknown> = {}): void {
  log.error({ ...extra, err: errorFields(err) }, msg);
}

/** Logs err at warn level with its full data: a failure that a later pass or retry repairs. */
export function logWarn(log: Logger, err: unknown, msg: string, extra: Record<string, unknown> = {}): void {
  log.warn({ ...extra, err: errorFields(err) }, msg);
}

/**
 * A catch handler for promises whose failure is logged and then dropped:
 * `void work().catch(logged(log, 'announcing images failed; the next pass retries'))`.
 */
export function logged(log: Logger, msg: string, level: 'warn' | 'error' = 'warn', extra: Record<string, unknown> = {}): (err: unknown) => void {
  return (err) => (level === 'warn' ? logWarn : logError)(log, err, msg, extra);
}
