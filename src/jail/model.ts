/**
 * The jail model: what `cellblock jail create` asks for, checked once, before anything is
 * created (pure). Every refusal is a UserError naming the option, the bad value and the fix.
 *
 * `parseJailSpec` takes raw CLI-ish input (strings as typed, repeated options as arrays) plus
 * what the caller already resolved (image and writable paths from the storage layer, the
 * instance name, the host's CPU count) and returns a JailSpec that the OCI builder, the
 * network runtime and the supervisor use unchanged.
 */
import { posix } from 'node:path';
import { UserError } from '../sys/errors.js';
import { checkName, parseImageRef, type ImageRef } from '../sys/names.js';
import { formatSize, parseSize } from '../sys/size.js';
import { formatIPv4, parseIPv4 } from './ipam.js';
import { jailNames } from './naming.js';
import { hasNames, parseUserRef, resolveUser, type Accounts, type JailUser } from './accounts.js';
import { parseEtcEntries, type EtcSpec } from './etc-spec.js';

export type RestartPolicy = 'always' | 'on-failure' | 'no';
export const RESTART_POLICIES: readonly RestartPolicy[] = ['always', 'on-failure', 'no'];

/** Default when --pids is not given: enough for any server, a stop for fork bombs. */
export const DEFAULT_PIDS = 1024;
/** The smallest --memory runc and the kernel can start a process in. */
export const MIN_MEMORY = 6 * 1024 * 1024;
/** Default disk limit of a jail's writable dataset when neither --disk nor host.json's defaultDisk says. */
export const DEFAULT_DISK = 1024 ** 3;
/**
 * The smallest --disk: a jail's writable dataset starts with tmp/, var/ and its --rw
 * directories, and btrfs counts metadata blocks (16K each) against the limit too.
 */
export const MIN_DISK = 16 * 1024 ** 2;
/** Longest path accepted for --rw. */
const MAX_RW_PATH = 255;

export type { JailUser } from './accounts.js';

export interface JailSpec {
  name: string;
  /** The cellblock instance (data dir) the jail belongs to; part of machine-wide names. */
  instance: string;
  image: ImageRef;
  /** Host path of the image's read-only tree, mounted at /app. */
  imagePath: string;
  /** Host path of the jail's writable dataset: holds tmp/, var/ and every --rw directory. */
  writablePath: string;
  /** The requested address; undefined means "allocate one" (see ipam.ts). */
  ip?: string;
  memoryBytes?: number;
  cpus?: number;
  pids: number;
  /**
   * Limit of the writable dataset (tmp/, var/, --rw) in bytes, enforced by the pool's driver
   * where it can. Absent in records written before disk limits: no limit.
   */
  diskBytes?: number;
  env: Record<string, string>;
  user: JailUser;
  /** Absolute, normalized, deduplicated, sorted. */
  rw: string[];
  /**
   * What the jail adds to the host's /etc it sees: path under /etc -> a path in the image
   * (laid over it read-only) or "host" (the host's own, shown although the host hides it).
   * Absent in records written before it existed: read as {}.
   */
  etc?: EtcSpec;
  restart: RestartPolicy;
  command: string[];
  netnsPath: string;
  hostname: string;
}

export interface JailInput {
  name: string;
  /** NAME:TAG */
  image: string;
  imagePath: string;
  writablePath: string;
  ip?: string;
  memory?: string | number;
  cpus?: string | number;
  pids?: string | number;
  /** Size of the writable dataset: 512M, 2G; default JailContext.defaultDisk. */
  disk?: string | number;
  /** K=V, repeated. */
  env?: readonly string[];
  /** USER[:GROUP], each a name or a number */
  user?: string;
  rw?: readonly string[];
  /** PATH=SOURCE, repeated: a path under /etc, and /app/... or "host" */
  etc?: readonly string[];
  restart?: string;
  command: readonly string[];
}

export interface JailContext {
  instance: string;
  /** CPUs of the host; --cpus may not exceed it. */
  hostCpus: number;
  /** The passwd and group the jail sees, for a user given by name (etc-scan.ts reads them). */
  accounts?: Accounts;
  /** --disk when not given (default DEFAULT_DISK). */
  defaultDisk?: number;
  /** Size of the pool the jail's dataset goes in: a larger --disk could never be used. */
  poolBytes?: number;
}

/** Paths that belong to the read-only OS, the image or the kernel: never writable. */
export const READONLY_ROOTS = ['/usr', '/etc', '/proc', '/sys', '/dev', '/app', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PATH_SEGMENT_RE = /^[A-Za-z0-9._@+-]+$/;

export function parseJailSpec(input: JailInput, ctx: JailContext): JailSpec {
  const name = checkName('jail', input.name);
  const names = jailNames(ctx.instance, name);
  const spec: JailSpec = {
    name,
    instance: ctx.instance,
    image: parseImageRef(input.image, '--image'),
    imagePath: checkHostPath('image path', input.imagePath),
    writablePath: checkHostPath('writable path', input.writablePath),
    pids: input.pids === undefined ? DEFAULT_PIDS : parsePids(input.pids),
    diskBytes: input.disk === undefined ? ctx.defaultDisk ?? DEFAULT_DISK : parseDisk('--disk', input.disk, ctx.poolBytes),
    env: parseEnv(input.env ?? []),
    user: input.user === undefined ? { uid: 0, gid: 0 } : parseUser(input.user, ctx.accounts),
    rw: parseRw(input.rw ?? []),
    restart: parseRestart(input.restart ?? 'no'),
    command: parseCommand(input.command),
    netnsPath: names.netnsPath,
    hostname: name,
  };
  if (input.etc !== undefined && input.etc.length > 0) spec.etc = parseEtcEntries(input.etc);
  if (input.ip !== undefined) spec.ip = formatIPv4(parseIPv4('--ip', input.ip));
  if (input.memory !== undefined) spec.memoryBytes = parseSize('--memory', input.memory, { min: MIN_MEMORY });
  if (input.cpus !== undefined) spec.cpus = parseCpus(input.cpus, ctx.hostCpus);
  return spec;
}

function checkHostPath(field: string, p: string): string {
  if (typeof p !== 'string' || !p.startsWith('/') || posix.normalize(p) !== p || p.includes('\0')) {
    throw new Error(`bug: ${field} must be an absolute normalized path, got ${JSON.stringify(p)}`);
  }
  return p;
}

/** A disk limit: a size from MIN_DISK up to the pool's size (when known). */
export function parseDisk(field: string, value: string | number, poolBytes?: number): number {
  const bytes = parseSize(field, value, { min: MIN_DISK });
  if (poolBytes !== undefined && bytes > poolBytes) {
    throw new UserError(`${field}: ${formatSize(bytes)} is more than the pool's size (${formatSize(poolBytes)})`, `use at most ${formatSize(poolBytes)}, or make the pool larger`);
  }
  return bytes;
}

export function parseCpus(value: string | number, hostCpus: number): number {
  const text = String(value).trim();
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n <= 0) {
    throw new UserError(`--cpus: invalid value ${JSON.stringify(String(value))}`, 'give a number of CPUs greater than 0, for example 0.5 or 2');
  }
  if (n < 0.01) throw new UserError(`--cpus: ${text} is too small`, 'use at least 0.01 (the kernel enforces quotas in 1 ms steps of a 100 ms period)');
  if (n > hostCpus) throw new UserError(`--cpus: ${text} is more than this host's ${hostCpus} CPUs`, `use at most ${hostCpus}`);
  return n;
}

export function parsePids(value: string | number): number {
  const text = String(value).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 4194304) {
    throw new UserError(`--pids: invalid value ${JSON.stringify(String(value))}`, 'give a whole number of processes from 1 to 4194304, for example 256');
  }
  return n;
}

export function parseEnv(list: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of list) {
    const eq = typeof item === 'string' ? item.indexOf('=') : -1;
    const key = eq > 0 ? item.slice(0, eq) : '';
    if (!ENV_KEY_RE.test(key)) {
      throw new UserError(`--env: invalid variable ${JSON.stringify(item)}`, 'write KEY=VALUE where KEY is letters, digits and "_" and does not start with a digit, for example LOG_LEVEL=info');
    }
    const val = item.slice(eq + 1);
    if (val.includes('\0')) throw new UserError(`--env: the value of ${key} contains a NUL byte`, 'remove the NUL byte');
    if (key in env) throw new UserError(`--env: ${key} is given twice`, `give ${key} once`);
    env[key] = val;
  }
  return env;
}

/**
 * USER[:GROUP] as given to --user or `user:`, each a name or a number. Names need the
 * passwd and group files the jail sees (`accounts`); without them a name is a bug of the caller.
 */
export function parseUser(value: string, accounts?: Accounts): JailUser {
  const ref = parseUserRef(value, '--user');
  if (hasNames(ref) && !accounts) throw new Error(`bug: --user ${JSON.stringify(value)} has a name, but no passwd and group were given to resolve it`);
  return resolveUser(ref, accounts ?? { passwd: [], group: [] }, '--user');
}

/** One --rw directory: absolute, normalized, not "/", outside READONLY_ROOTS, plain segments. */
export function checkRwPath(p: string): string {
  const bad = (why: string, fix: string) => new UserError(`--rw: ${JSON.stringify(p)} ${why}`, fix);
  if (typeof p !== 'string' || !p.startsWith('/')) throw bad('is not an absolute path', 'write the directory as the jail sees it, starting with "/", for example /var/lib/app');
  if (p === '/') throw bad('is the root directory', 'name the directory that should be writable, for example /var/lib/app');
  if (p.length > MAX_RW_PATH) throw bad('is too long', `use at most ${MAX_RW_PATH} characters`);
  if (posix.normalize(p) !== p || p.endsWith('/')) {
    throw bad('is not a normalized path', `write it as ${JSON.stringify(posix.normalize(p).replace(/(.)\/$/, '$1'))}`);
  }
  for (const seg of p.slice(1).split('/')) {
    if (!PATH_SEGMENT_RE.test(seg) || seg === '.' || seg === '..') {
      throw bad(`has an unusual path segment ${JSON.stringify(seg)}`, 'use letters, digits and . _ @ + - in directory names');
    }
  }
  const root = READONLY_ROOTS.find((r) => p === r || p.startsWith(`${r}/`));
  if (root) throw bad(`is under ${root}, which is read-only in every jail`, 'choose a directory elsewhere, for example under /var or /srv');
  return p;
}

export function parseRw(list: readonly string[]): string[] {
  return [...new Set(list.map(checkRwPath))].sort();
}

export function parseRestart(value: string): RestartPolicy {
  if (!(RESTART_POLICIES as readonly string[]).includes(value)) {
    throw new UserError(`--restart: invalid policy ${JSON.stringify(value)}`, `use one of: ${RESTART_POLICIES.join(', ')}`);
  }
  return value as RestartPolicy;
}

export function parseCommand(argv: readonly string[]): string[] {
  if (!Array.isArray(argv) || argv.length === 0 || argv[0] === '') {
    throw new UserError('command: missing', 'give the command after "--", for example -- /usr/bin/python3 -m http.server 8080');
  }
  for (const a of argv) {
    if (typeof a !== 'string' || a.includes('\0')) throw new UserError(`command: argument ${JSON.stringify(a)} is not valid`, 'remove NUL bytes from the command');
  }
  return [...argv];
}
