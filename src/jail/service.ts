/**
 * What the agent offers about jails: the contract between the API layer (src/api, src/agent,
 * CLI `jail` commands) and the jail manager (src/jail/manager.ts) that does the work.
 * Requests carry raw user input (strings as typed on the command line); the manager validates
 * them (model.ts) and throws UserError subclasses naming the field and the fix.
 */
import type { Readable } from 'node:stream';
import type { RestartPolicy } from './model.js';

export interface JailCreateRequest {
  name: string;
  /** NAME:TAG */
  image: string;
  ip?: string;
  memory?: string;
  cpus?: string;
  pids?: string;
  /** Size limit of the jail's writable dataset (512M, 2G); default: host.json defaultDisk, else 1G. */
  disk?: string;
  /** K=V */
  env?: string[];
  /** USER[:GROUP], each a name (resolved in the host's passwd and group) or a number */
  user?: string;
  rw?: string[];
  /** PATH=SOURCE: a path under /etc laid over from the image (/app/...), or shown from the host ("host") */
  etc?: string[];
  restart?: string;
  command: string[];
  /** Start it right after creating it. */
  start?: boolean;
}

export type JailState = 'created' | 'running' | 'stopped' | 'restarting' | 'failed';

export interface JailView {
  name: string;
  image: string;
  ip: string;
  state: JailState;
  /** PID of the jail's init process on the host, when running. */
  pid: number | null;
  restart: RestartPolicy;
  /** How many times the supervisor restarted it since it was last started by hand. */
  restarts: number;
  /** Exit code of the last run, null when unknown or still running. */
  lastExitCode: number | null;
  /** Why it last stopped: "exited", "oom-killed", "stopped", or null. */
  lastExitReason: string | null;
  command: string[];
  createdAt: string;
  startedAt: string | null;
  /** Disk limit and use (`jail ls`, `jail inspect`); absent where a view skips it. */
  disk?: JailDisk;
}

export interface JailDisk {
  /** null: the jail has no limit (made before disk limits). */
  limitBytes: number | null;
  /** What counts against the limit; null where the driver keeps no account (dir). */
  usedBytes: number | null;
  /** Whether the pool's driver enforces the limit. */
  enforced: boolean;
}

export interface JailLimitsUsage {
  memory: { limitBytes: number | null; usageBytes: number | null; oomKills: number | null };
  cpu: { cpus: number | null; usageSeconds: number | null };
  pids: { limit: number; current: number | null };
  /** Bytes of pool space the jail's writable dataset holds on its own. */
  diskExclusiveBytes: number | null;
}

export interface JailInspect extends JailView {
  spec: {
    memoryBytes: number | null;
    cpus: number | null;
    pids: number;
    diskBytes: number | null;
    env: Record<string, string>;
    user: { uid: number; gid: number };
    rw: string[];
  };
  usage: JailLimitsUsage;
  paths: { bundle: string; writable: string; log: string; netns: string };
  hostInterface: string;
}

export interface ExecRequest {
  command: string[];
  /** UID[:GID]; default: the jail's user. */
  user?: string;
  env?: string[];
  timeoutSeconds?: number;
}

export interface ExecOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface LogsRequest {
  follow?: boolean;
  /** Last N lines only (default: all that is kept). */
  tail?: number;
  /** Stops following when this aborts. */
  signal?: AbortSignal;
}

export interface JailService {
  create(req: JailCreateRequest): Promise<JailView>;
  start(name: string): Promise<JailView>;
  /** SIGTERM, then SIGKILL after timeoutSeconds (default 10). */
  stop(name: string, opts?: { timeoutSeconds?: number }): Promise<JailView>;
  restart(name: string): Promise<JailView>;
  /** Removes the jail and everything made for it; `force` stops it first if running. */
  remove(name: string, opts?: { force?: boolean }): Promise<void>;
  /** Changes a jail's disk limit in place, running or not (SIZE as --disk takes it); absent where the service cannot. */
  setDisk?(name: string, disk: string): Promise<JailView>;
  list(): Promise<JailView[]>;
  inspect(name: string): Promise<JailInspect>;
  exec(name: string, req: ExecRequest): Promise<ExecOutput>;
  /** Log lines as text ("<time> <stream> <line>\n"), following new ones with `follow`. */
  logs(name: string, req: LogsRequest): Promise<Readable>;
  /**
   * Changes this host's jail subnet (A.B.C.D/P, as --subnet takes it). Refused with a UserError
   * naming the jails while the host has any; the same subnet again is a no-op. Optional: test
   * doubles lack it.
   */
  changeSubnet?(cidr: string): Promise<void>;
}
