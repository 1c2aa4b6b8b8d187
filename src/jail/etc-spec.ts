/**
 * What a jail adds to the host's /etc it sees (pure): `--etc PATH=SOURCE` on the command line,
 * `etc: { PATH: SOURCE }` in a stack file. PATH is a path under /etc ("nginx/nginx.conf", or
 * written in full, "/etc/nginx/nginx.conf"); SOURCE is either
 *   - a file or directory of the image ("/app/etc/nginx.conf"), laid over the host's read-only, or
 *   - "host": the host's own, shown although the host keeps it from other users (masking,
 *     etc-mask.ts), e.g. `ssl/private: host` for a jail that serves TLS with the host's key.
 * Whether the paths exist is checked against the host and the image when the bundle is
 * written (etc-view.ts).
 */
import { posix } from 'node:path';
import { UserError } from '../sys/errors.js';

/** path under /etc (relative, normalized) -> "/app/..." or "host"; keys sorted. */
export type EtcSpec = Record<string, string>;

export const ETC_HOST = 'host';
/** Files cellblock writes for every jail; an image cannot replace them. */
export const JAIL_OWN_ETC = ['hostname', 'hosts', 'resolv.conf'];

const SEGMENT_RE = /^[A-Za-z0-9._@+,=-]+$/;
const MAX_PATH = 255;

function checkSegments(field: string, what: string, p: string, example: string): void {
  if (p.length > MAX_PATH) throw new UserError(`${field}: ${what} ${JSON.stringify(p)} is too long`, `use at most ${MAX_PATH} characters`);
  if (posix.normalize(p) !== p || p.endsWith('/') || p.includes('//')) {
    throw new UserError(`${field}: ${what} ${JSON.stringify(p)} is not a normalized path`, `write it without "//", "." or ".." segments or a trailing "/", for example ${example}`);
  }
  for (const seg of p.split('/').filter(Boolean)) {
    if (!SEGMENT_RE.test(seg) || seg === '.' || seg === '..') {
      throw new UserError(`${field}: ${what} ${JSON.stringify(p)} has an unusual segment ${JSON.stringify(seg)}`, 'use letters, digits and . _ @ + , = - in names');
    }
  }
}

/** The path under /etc, relative ("nginx/nginx.conf"); "/etc/nginx/nginx.conf" is accepted too. */
export function checkEtcPath(p: string, field = '--etc'): string {
  if (typeof p !== 'string' || p.trim() === '') throw new UserError(`${field}: missing path under /etc`, 'write the path under /etc, for example nginx/nginx.conf');
  const rel = p.startsWith('/etc/') ? p.slice('/etc/'.length) : p;
  if (rel.startsWith('/')) {
    throw new UserError(`${field}: ${JSON.stringify(p)} is not under /etc`, 'only /etc can be given files this way; put other files in the image under /app or in a --rw directory');
  }
  checkSegments(field, 'path', rel, 'nginx/nginx.conf');
  if (JAIL_OWN_ETC.includes(rel)) {
    throw new UserError(`${field}: /etc/${rel} is written by cellblock for every jail`, `remove it: each jail gets its own ${JAIL_OWN_ETC.map((n) => `/etc/${n}`).join(', ')}`);
  }
  return rel;
}

/** "host" or an absolute, normalized path under /app. */
export function checkEtcSource(path: string, source: string, field = '--etc'): string {
  if (source === ETC_HOST) return source;
  if (typeof source !== 'string' || !source.startsWith('/app/')) {
    throw new UserError(`${field}: source ${JSON.stringify(source)} of /etc/${path} is neither a path under /app nor "host"`,
      'give a file or directory of the image, for example /app/etc/nginx.conf, or "host" to show the host\'s own file that jails do not see by default');
  }
  checkSegments(field, `source of ${path}`, source, '/app/etc/nginx.conf');
  return source;
}

/** A map PATH -> SOURCE, checked: no duplicates, no entry inside another one. */
export function checkEtcMap(entries: readonly (readonly [string, string])[], field = '--etc'): EtcSpec {
  const out: EtcSpec = {};
  for (const [rawPath, rawSource] of entries) {
    const p = checkEtcPath(rawPath, field);
    const source = checkEtcSource(p, rawSource, field);
    if (p in out) throw new UserError(`${field}: /etc/${p} is given twice`, `give /etc/${p} once`);
    out[p] = source;
  }
  const keys = Object.keys(out).sort();
  for (let i = 1; i < keys.length; i++) {
    const [a, b] = [keys[i - 1]!, keys[i]!];
    if (b.startsWith(`${a}/`)) throw new UserError(`${field}: /etc/${b} is inside /etc/${a}, which is also given`, `give one of them: /etc/${a} with all it holds, or only /etc/${b}`);
  }
  return Object.fromEntries(keys.map((k) => [k, out[k]!]));
}

/** `--etc PATH=SOURCE`, repeated. */
export function parseEtcEntries(list: readonly string[]): EtcSpec {
  return checkEtcMap(list.map((item) => {
    const eq = typeof item === 'string' ? item.indexOf('=') : -1;
    if (eq <= 0) throw new UserError(`--etc: invalid entry ${JSON.stringify(item)}`, 'write PATH=SOURCE, for example nginx/nginx.conf=/app/etc/nginx.conf or ssl/private=host');
    return [item.slice(0, eq), item.slice(eq + 1)] as const;
  }));
}

/** Entries that show the host's own path, relative to /etc. */
export function unmaskedPaths(etc: EtcSpec | undefined): string[] {
  return Object.entries(etc ?? {}).filter(([, s]) => s === ETC_HOST).map(([p]) => p);
}

/** Entries laid over from the image: [path under /etc, source under /app]. */
export function imageOverlays(etc: EtcSpec | undefined): [string, string][] {
  return Object.entries(etc ?? {}).filter(([, s]) => s !== ETC_HOST);
}
