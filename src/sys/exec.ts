/**
 * The one way cellblock runs an external command (STYLE.md §4): an argument array, never a
 * shell string; a timeout; an abort signal; stdin and stdout as streams for pipes
 * (send/receive); a non-zero exit throws an ExecError with the command, exit code and stderr.
 *
 * Only this file imports node:child_process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ExecError } from './errors.js';

/** okCodes for a command whose every exit code is an answer (the caller looks at it). */
export const ANY_CODE: readonly number[] = Array.from({ length: 256 }, (_, i) => i);

export interface ExecOptions {
  /** Milliseconds before the command is killed (SIGKILL) and an ExecError of kind 'timeout' thrown. 0 = none. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Bytes or a stream to feed to stdin. */
  input?: string | Buffer | Readable;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that count as success (default [0]). */
  okCodes?: readonly number[];
  /**
   * exec() only: give the command this file descriptor as stdout and stderr instead of
   * capturing them (the result's stdout and stderr are then ''), and /dev/null as stdin unless
   * `input` is given. For `runc run --detach`, whose container inherits runc's stdio and keeps
   * it open long after runc exits: a pipe would never close, a log file can.
   */
  outputFd?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command to completion and returns its output. */
export type Exec = (argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

export interface SpawnedProcess {
  /** stdout of the process, to be piped somewhere. */
  stdout: Readable;
  stdin: Writable;
  /** Resolves when the process exits successfully; rejects with ExecError otherwise. */
  done: Promise<{ stderr: string; code: number }>;
  kill(signal?: NodeJS.Signals): void;
  pid: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_CAPTURE = 4 * 1024 * 1024;

function assertArgv(argv: readonly string[]): void {
  if (argv.length === 0 || typeof argv[0] !== 'string' || argv[0] === '') {
    throw new Error('exec: empty command');
  }
  for (const a of argv) {
    if (typeof a !== 'string') throw new Error(`exec: argument is not a string: ${String(a)}`);
    if (a.includes('\0')) throw new Error('exec: argument contains a NUL byte');
  }
}

function waitForExit(
  child: ChildProcess,
  argv: readonly string[],
  opts: ExecOptions,
  stderrChunks: Buffer[],
): Promise<{ stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timedOut = false;
    let aborted = false;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = timeoutMs > 0 ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs) : undefined;
    const onAbort = () => { aborted = true; child.kill('SIGKILL'); };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish(() => reject(new ExecError(argv, null, err.message, err.code === 'ENOENT' ? 'missing-tool' : 'failed')));
    });
    child.on('close', (code, sig) => {
      const stderr = Buffer.concat(stderrChunks).toString('utf8');
      finish(() => {
        if (timedOut) return reject(new ExecError(argv, code, stderr, 'timeout', sig));
        if (aborted) return reject(new ExecError(argv, code, stderr, 'aborted', sig));
        const ok = opts.okCodes ?? [0];
        if (code !== null && ok.includes(code)) return resolve({ stderr, code });
        reject(new ExecError(argv, code, stderr, 'failed', sig));
      });
    });
  });
}

function capture(stream: Readable | null, into: Buffer[]): void {
  let size = 0;
  stream?.on('data', (b: Buffer) => {
    if (size < MAX_CAPTURE) { into.push(b); size += b.length; }
  });
}

function feedInput(child: ChildProcess, input: ExecOptions['input']): void {
  if (!child.stdin) return;
  child.stdin.on('error', () => { /* the process exited before reading everything; its exit code tells */ });
  if (input === undefined) child.stdin.end();
  else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
  else {
    input.pipe(child.stdin);
    // once the command is gone, nothing may keep piping into its closed stdin: the pipe would
    // pause `input` for a 'drain' that never comes, and a caller draining `input` would hang
    child.once('close', () => input.unpipe(child.stdin!));
  }
}

/** Runs argv to completion, capturing stdout and stderr. */
export const exec: Exec = async (argv, opts = {}) => {
  assertArgv(argv);
  if (opts.signal?.aborted) throw new ExecError(argv, null, '', 'aborted');
  const fd = opts.outputFd;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: fd === undefined ? ['pipe', 'pipe', 'pipe'] : [opts.input === undefined ? 'ignore' : 'pipe', fd, fd],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  capture(child.stdout, out);
  capture(child.stderr, err);
  feedInput(child, opts.input);
  const { stderr, code } = await waitForExit(child, argv, opts, err);
  return { stdout: Buffer.concat(out).toString('utf8'), stderr, code };
};

/**
 * Starts argv with stdout as a stream (for `btrfs send | ...`). The caller must consume
 * `stdout` and await `done`. Timeout defaults to none for streams.
 */
export function spawnStream(argv: readonly string[], opts: ExecOptions = {}): SpawnedProcess {
  assertArgv(argv);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const err: Buffer[] = [];
  capture(child.stderr, err);
  if (opts.input !== undefined) feedInput(child, opts.input);
  else child.stdin?.on('error', () => {});
  const done = waitForExit(child, argv, { timeoutMs: 0, ...opts }, err);
  done.catch(() => {}); // the caller awaits it; avoid an unhandled rejection if it does so late
  return {
    stdout: child.stdout!,
    stdin: child.stdin!,
    done,
    kill: (sig = 'SIGTERM') => { child.kill(sig); },
    pid: child.pid,
  };
}

/**
 * Starts a long-running daemon detached from this process (its own session), stdio to
 * the given file descriptors. Returns its PID. Used by the agent for supervised children.
 */
export function spawnDetached(argv: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdout?: number | 'ignore'; stderr?: number | 'ignore' } = {}): number {
  assertArgv(argv);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', opts.stdout ?? 'ignore', opts.stderr ?? 'ignore'],
  });
  child.unref();
  if (child.pid === undefined) throw new ExecError(argv, null, 'could not start', 'missing-tool');
  return child.pid;
}

/** Where `name` is found as an executable on PATH (then /usr/sbin, /sbin), or undefined. */
export async function whichTool(name: string): Promise<string | undefined> {
  const { access, stat, constants } = await import('node:fs/promises');
  const dirs = (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter(Boolean);
  for (const d of [...dirs, '/usr/sbin', '/sbin']) {
    const p = `${d}/${name}`;
    try {
      await access(p, constants.X_OK);
      if ((await stat(p)).isFile()) return p;
    } catch { /* not here or not executable: try the next directory */ }
  }
  return undefined;
}

/** True when `name` is an executable on PATH. */
export async function hasTool(name: string): Promise<boolean> {
  return (await whichTool(name)) !== undefined;
}
