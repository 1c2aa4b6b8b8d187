/**
 * One parser per scalar field of a stack file: raw YAML value in, normalized value out, or
 * a UserError whose message says what is wrong (without a field name: the caller knows the
 * path) and whose fix says what to write. Pure. The rules are the jail's own
 * (jail/model.ts, sys/names.ts, sys/size.ts): a service accepts exactly what `jail create`
 * accepts, and only the wording of the messages is adapted to the file.
 */
import { UserError } from '../sys/errors.js';
import { parseImageRef, type ImageRef } from '../sys/names.js';
import { parseSize } from '../sys/size.js';
import { checkRwPath, MIN_MEMORY, parseCpus, parseDisk, parseEnv, parsePids, parseRestart, type RestartPolicy } from '../jail/model.js';
import { parseUserRef, type IdRef } from '../jail/accounts.js';
import { checkEtcPath, checkEtcSource } from '../jail/etc-spec.js';
import type { ServiceUser } from './types.js';
import { parseDuration } from './duration.js';

/** How a value is shown in messages: strings quoted, nothing, lists and maps by name. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

/** Runs a jail-level validator and drops its option label (`--cpus: `, `image: `) from the message. */
function reuse<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof UserError) throw new UserError(e.message.replace(/^(?:--)?[a-z][a-z-]*: /, ''), e.fix);
    throw e;
  }
}

/** A whole number in [min, max]; `replicas: "3"` is refused with "write it without quotes". */
export function wholeNumber(value: unknown, min: number, max: number | undefined, example: number): number {
  const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && (max === undefined || value <= max)) return value;
  const fix = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) && Number(value) >= min && (max === undefined || Number(value) <= max)
    ? `write it without quotes: ${value.trim()}`
    : `write a whole number, for example ${example}`;
  throw new UserError(`expected a whole number ${range}, got ${describe(value)}`, fix);
}

export const replicas = (v: unknown): number => wholeNumber(v, 1, undefined, 3);
export const port = (v: unknown): number => wholeNumber(v, 1, 65535, 8080);
export const threshold = (v: unknown): number => wholeNumber(v, 1, undefined, 3);
export const httpStatus = (v: unknown): number => wholeNumber(v, 100, 599, 200);

export function image(v: unknown): ImageRef {
  if (typeof v !== 'string') throw new UserError(`expected NAME:TAG, got ${describe(v)}`, 'write the image as NAME:TAG, for example site:v1');
  return reuse(() => parseImageRef(v, 'image'));
}

function stringOrNumber(v: unknown, what: string, example: string): string | number {
  if (typeof v === 'string' || typeof v === 'number') return v;
  throw new UserError(`expected ${what}, got ${describe(v)}`, `write it as ${example}`);
}

export const memory = (v: unknown): number =>
  reuse(() => parseSize('memory', stringOrNumber(v, 'a size', '256M'), { min: MIN_MEMORY }));

/** No pool is known when a file is validated: a disk larger than every host's pool is left unplaced by the scheduler. */
export const disk = (v: unknown): number =>
  reuse(() => parseDisk('disk', stringOrNumber(v, 'a size', '2G')));

/** No host is known when a file is validated: the host's CPU count is checked at placement. */
export const cpus = (v: unknown): number =>
  reuse(() => parseCpus(stringOrNumber(v, 'a number of CPUs', '0.5 or 2'), Number.POSITIVE_INFINITY));

export const pids = (v: unknown): number => reuse(() => parsePids(stringOrNumber(v, 'a number of processes', '256')));

/** Checked here, resolved on the host that runs the replica (its passwd and group). */
export const user = (v: unknown): ServiceUser => reuse(() => {
  const ref = parseUserRef(String(stringOrNumber(v, 'a user name or number', 'www-data, 1000 or "postgres:postgres"')), 'user');
  const one = (r: IdRef) => ('id' in r ? r.id : r.name);
  const uid = one(ref.user);
  return { uid, gid: ref.group ? one(ref.group) : typeof uid === 'number' && !ref.loginGroup ? uid : '' };
});

/** A key of `etc:`: the path under /etc. */
export const etcPath = (v: string): string => reuse(() => checkEtcPath(v, 'etc'));

/** A value of `etc:`: a path under /app, or host. */
export const etcSource = (path: string, v: unknown): string => {
  if (typeof v !== 'string') throw new UserError(`expected a path under /app or host, got ${describe(v)}`, 'write a file of the image, for example /app/etc/nginx.conf, or host');
  return reuse(() => checkEtcSource(path, v, 'etc'));
};

export function restart(v: unknown): RestartPolicy {
  if (typeof v !== 'string') throw new UserError(`expected a restart policy, got ${describe(v)}`, 'use one of: always, on-failure, no');
  return reuse(() => parseRestart(v));
}

export const rwPath = (v: unknown): string => {
  if (typeof v !== 'string') throw new UserError(`expected a directory, got ${describe(v)}`, 'write the directory as the jail sees it, for example /var/lib/app');
  return reuse(() => checkRwPath(v));
};

export const duration = (v: unknown): number => {
  if (typeof v !== 'string' && typeof v !== 'number') throw new UserError(`expected a duration, got ${describe(v)}`, 'write it as 500ms, 5s or 1m');
  return parseDuration(v);
};

/** An environment variable name, by the jail's rule. */
export function envKey(key: string): string {
  try {
    parseEnv([`${key}=`]);
  } catch (e) {
    if (e instanceof UserError) {
      throw new UserError(`invalid variable name ${JSON.stringify(key)}`, 'use letters, digits and "_", not starting with a digit, for example LOG_LEVEL');
    }
    throw e;
  }
  return key;
}

/** An environment value: strings as they are, numbers and true/false as their text. */
export function envValue(key: string, v: unknown): string {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    throw new UserError(`expected a string, number or true/false, got ${describe(v)}`, 'write one value; quote it if it contains ": " or starts with a special character');
  }
  const text = String(v);
  return reuse(() => parseEnv([`${key}=${text}`])[key]!);
}

/** One argument of a command. Numbers are refused rather than guessed at: `8080` vs `"8080"`. */
export function arg(v: unknown): string {
  if (typeof v !== 'string') {
    const fix = typeof v === 'number' || typeof v === 'boolean' ? `quote it: "${String(v)}"` : 'write each argument as one string';
    throw new UserError(`expected a string, got ${describe(v)}`, fix);
  }
  if (v.includes('\0')) throw new UserError('contains a NUL byte', 'remove the NUL byte');
  return v;
}

/** The `fix` for a command written as one string: the list it probably means. */
export function commandFix(v: unknown): string {
  const example = typeof v === 'string' && v.trim() !== '' ? v.trim().split(/\s+/) : ['/usr/bin/python3', '-m', 'http.server', '8080'];
  return `write it as a list, for example ${JSON.stringify(example).replace(/","/g, '", "')}`;
}

/** The path an HTTP check requests: starts with "/", printable ASCII without spaces. */
export function httpPath(v: unknown): string {
  if (typeof v !== 'string') throw new UserError(`expected a path such as /health, got ${describe(v)}`, 'write the path the check requests, for example /index.html');
  if (!/^\/[\x21-\x7e]*$/.test(v) || v.length > 1024) {
    throw new UserError(`invalid path ${JSON.stringify(v)}`, 'start with "/" and use printable characters without spaces (percent-encode others), for example /healthz');
  }
  return v;
}

/** An IPv4 address in dotted form, each part 0-255 without leading zeros (the floating address). */
export function ipv4(v: unknown): string {
  if (typeof v !== 'string') throw new UserError(`expected an IPv4 address, got ${describe(v)}`, 'write an address of the hosts\' network, for example 10.231.0.100');
  const parts = v.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) {
    throw new UserError(`invalid IPv4 address ${JSON.stringify(v)}`, 'write four numbers from 0 to 255 separated by dots, for example 10.231.0.100');
  }
  return v;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME_RE = new RegExp(`^(?:\\*\\.)?(?:${LABEL}\\.)*${LABEL}$`);

/** A virtual host of `publish.http`: a lowercase DNS name, or a wildcard `*.example.com` (one label). */
export function hostName(v: unknown): string {
  if (typeof v !== 'string') throw new UserError(`expected a host name, got ${describe(v)}`, 'write a DNS name, for example site.example.com');
  if (v.length > 253 || !HOST_NAME_RE.test(v) || (v.startsWith('*.') && !v.slice(2).includes('.'))) {
    const lower = v.toLowerCase();
    const fix = lower !== v && HOST_NAME_RE.test(lower)
      ? `write it in lowercase: ${lower}`
      : 'use lowercase letters, digits and "-" in dot-separated labels, for example site.example.com, or *.example.com for every name of one level under example.com';
    throw new UserError(`invalid host name ${JSON.stringify(v)}`, fix);
  }
  return v;
}

/** A path of `publish.tls` (cert or key), relative to the stack file's directory or absolute. */
export function tlsFile(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw new UserError(`expected a file name, got ${describe(v)}`, 'write the path of a PEM file, relative to the stack file, for example certs/site.crt');
  if (v.includes('\0') || v.length > 4096) throw new UserError(`invalid file name ${JSON.stringify(v.slice(0, 64))}`, 'write the path of a PEM file, for example certs/site.crt');
  return v;
}

/** `max_surge`, `max_unavailable`: how many replicas, 0 allowed. */
export const replicaCount = (v: unknown): number => wholeNumber(v, 0, undefined, 1);

/** `max_error_rate`: "5%" or a share from 0 to 1, normalized to the share. */
export function errorRate(v: unknown): number {
  const fix = 'write a percentage such as "5%" or a share from 0 to 1 such as 0.05';
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0 && v <= 1) return v;
    throw new UserError(`expected a share from 0 to 1, got ${v}`, v > 1 && v <= 100 ? `write it as a percentage: "${v}%", or as a share: ${v / 100}` : fix);
  }
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
    if (m && Number(m[1]) <= 100) return Number(m[1]) / 100;
    throw new UserError(`invalid error rate ${JSON.stringify(v)}`, fix);
  }
  throw new UserError(`expected a percentage or a share, got ${describe(v)}`, fix);
}
