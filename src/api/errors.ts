/**
 * How errors cross the agent API. The server turns each of the four kinds (STYLE.md §13)
 * into a status and a JSON body; the client turns the body back into the same class, so the
 * CLI's one handler prints the same message and fix as it would in-process.
 */
import { ExecError, ExistsError, NotFoundError, NotSupportedError, UnavailableError, UserError, type ExecFailure } from '../sys/errors.js';

export type ErrorKind = 'user' | 'not-found' | 'exists' | 'unavailable' | 'exec' | 'not-supported' | 'bug';

export interface ErrorBody {
  error: {
    kind: ErrorKind;
    message: string;
    fix?: string;
    /** exec only */
    command?: string;
    argv?: string[];
    exitCode?: number | null;
    stderr?: string;
    failure?: ExecFailure;
    signal?: string | null;
  };
}

/** A user error with an HTTP status of its own (413, 415, 405, ...). */
export class RequestError extends UserError {
  override name = 'RequestError';
  constructor(readonly status: number, message: string, fix?: string) {
    super(message, fix);
  }
}

export function errorToHttp(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof RequestError) return { status: err.status, body: userBody('user', err) };
  if (err instanceof NotFoundError) return { status: 404, body: userBody('not-found', err) };
  if (err instanceof ExistsError) return { status: 409, body: userBody('exists', err) };
  if (err instanceof UnavailableError) return { status: 503, body: userBody('unavailable', err) };
  if (err instanceof UserError) return { status: 400, body: userBody('user', err) };
  if (err instanceof ExecError) {
    return {
      status: 500,
      body: {
        error: {
          kind: 'exec', message: err.message, command: err.command, argv: [...err.argv],
          exitCode: err.exitCode, stderr: err.stderr, failure: err.kind, signal: err.signal,
        },
      },
    };
  }
  if (err instanceof NotSupportedError) return { status: 501, body: { error: { kind: 'not-supported', message: err.message } } };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { status: 500, body: { error: { kind: 'bug', message } } };
}

function userBody(kind: ErrorKind, err: UserError): ErrorBody {
  return { error: { kind, message: err.message, ...(err.fix !== undefined ? { fix: err.fix } : {}) } };
}

/** An internal error inside the agent: a bug, whose stack is in the agent's log. */
export class AgentBugError extends Error {
  override name = 'AgentBugError';
  constructor(message: string) {
    super(`the agent hit an internal error: ${message}`);
    this.stack = `${this.name}: ${this.message}\n    (the stack trace is in the agent's log)`;
  }
}

/** The error a response body describes, as the class the server started from. */
export function errorFromHttp(status: number, body: unknown): Error {
  const e = (body as Partial<ErrorBody> | undefined)?.error;
  if (!e || typeof e.message !== 'string') {
    return new AgentBugError(`unexpected response ${status}: ${JSON.stringify(body)?.slice(0, 200)}`);
  }
  switch (e.kind) {
    case 'not-found': return new NotFoundError(e.message, e.fix);
    case 'exists': return new ExistsError(e.message, e.fix);
    case 'unavailable': return new UnavailableError(e.message, e.fix);
    case 'user': return new UserError(e.message, e.fix);
    case 'exec': {
      if (Array.isArray(e.argv) && e.argv.length > 0) {
        const x = new ExecError(e.argv, e.exitCode ?? null, e.stderr ?? '', e.failure ?? 'failed', (e.signal ?? null) as NodeJS.Signals | null);
        x.message = e.message;
        return x;
      }
      const x = new ExecError([e.command ?? '?'], e.exitCode ?? null, e.stderr ?? '');
      x.message = e.message;
      return x;
    }
    case 'not-supported': {
      const x = new NotSupportedError('operation');
      x.message = e.message;
      return x;
    }
    default: return new AgentBugError(e.message);
  }
}
