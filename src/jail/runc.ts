/**
 * `runc` command lines and output parsers (pure).
 *
 * Every command names its state dir with `--root`: DATA_DIR/runc, one per cellblock data dir,
 * so several instances on one machine (e2e test hosts) never see each other's containers.
 * `--log FILE --log-format json` sends runc's own messages (including runc init's errors) to
 * a file: when the container's stdio is a log file, runc's stderr is that log too, and the
 * runtime reads the reason for a failure from the runc log instead.
 */
import { join } from 'node:path';
import type { Argv } from './net.js';

export interface RuncGlobal {
  /** State dir (runc --root). */
  root: string;
  /** runc's own log file (json lines). */
  log?: string;
}

export function runcRoot(dataDir: string): string {
  return join(dataDir, 'runc');
}

export function runc(g: RuncGlobal, ...args: string[]): Argv {
  const out = ['runc', '--root', g.root];
  if (g.log !== undefined) out.push('--log', g.log, '--log-format', 'json');
  return [...out, ...args];
}

export function runcCreate(g: RuncGlobal, id: string, bundle: string, o: { pidFile?: string } = {}): Argv {
  return runc(g, 'create', '--bundle', bundle, ...(o.pidFile ? ['--pid-file', o.pidFile] : []), id);
}

export function runcStart(g: RuncGlobal, id: string): Argv {
  return runc(g, 'start', id);
}

/** `run --detach`: create and start; runc exits once the process runs, the process stays. */
export function runcRun(g: RuncGlobal, id: string, bundle: string, o: { detach?: boolean; pidFile?: string; keep?: boolean } = {}): Argv {
  return runc(g, 'run', '--bundle', bundle,
    ...(o.detach ? ['--detach'] : []),
    ...(o.keep ? ['--keep'] : []),
    ...(o.pidFile ? ['--pid-file', o.pidFile] : []),
    id);
}

export function runcState(g: RuncGlobal, id: string): Argv {
  return runc(g, 'state', id);
}

/** Signal the container's init (or, with `all`, every process of the container). */
export function runcKill(g: RuncGlobal, id: string, signal = 'TERM', o: { all?: boolean } = {}): Argv {
  return runc(g, 'kill', ...(o.all ? ['--all'] : []), id, signal);
}

/** `--force` kills a running container first (SIGKILL) and then deletes it. */
export function runcDelete(g: RuncGlobal, id: string, o: { force?: boolean } = {}): Argv {
  return runc(g, 'delete', ...(o.force ? ['--force'] : []), id);
}

export function runcList(g: RuncGlobal): Argv {
  return runc(g, 'list', '--format', 'json');
}

export interface RuncExecOptions {
  /** UID[:GID] */
  user?: string;
  cwd?: string;
  env?: readonly string[];
}

/** A further process in a running container; it gets the container's capabilities and seccomp filter. */
export function runcExec(g: RuncGlobal, id: string, argv: readonly string[], o: RuncExecOptions = {}): Argv {
  const opts: string[] = [];
  if (o.user !== undefined) opts.push('--user', o.user);
  if (o.cwd !== undefined) opts.push('--cwd', o.cwd);
  for (const e of o.env ?? []) opts.push('--env', e);
  return runc(g, 'exec', ...opts, id, ...argv);
}

export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuncState {
  id: string;
  pid: number;
  status: RuncStatus;
  bundle: string;
  created: string;
  annotations: Record<string, string>;
}

interface RawState { id: string; pid: number; status: string; bundle: string; created: string; annotations?: Record<string, string> | null }

function toState(r: RawState): RuncState {
  return { id: r.id, pid: r.pid, status: r.status as RuncStatus, bundle: r.bundle, created: r.created, annotations: r.annotations ?? {} };
}

/** Output of `runc state ID`. */
export function parseRuncState(stdout: string): RuncState {
  return toState(JSON.parse(stdout) as RawState);
}

/** Output of `runc list --format json`: runc prints `null` when there are no containers. */
export function parseRuncList(stdout: string): RuncState[] {
  const list = stdout.trim() ? (JSON.parse(stdout) as RawState[] | null) : null;
  return (list ?? []).map(toState);
}

/**
 * runc 1.1 on state/kill/delete/exec of an unknown id (exit 1, text log on stderr):
 * `time="..." level=error msg="container does not exist"`.
 */
export const RUNC_NOT_FOUND_RE = /container does not exist/;
/** runc 1.1.5 on create/run with an id already in use (even of a stopped container): `container with given ID already exists`. */
export const RUNC_EXISTS_RE = /container with given ID already exists|container with id exists/;
/** runc 1.1 on kill of a stopped container: `container not running`. */
export const RUNC_NOT_RUNNING_RE = /container not running|process already finished/;

/** The error messages of a runc json log (`--log-format json`), oldest first. */
export function parseRuncLogErrors(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { level?: string; msg?: string };
      if ((r.level === 'error' || r.level === 'fatal') && r.msg) out.push(r.msg);
    } catch { /* not json: ignore */ }
  }
  return out;
}
