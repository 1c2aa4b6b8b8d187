/**
 * `cellblock host check`'s look at the host's OS as jails will see it (pure): every jail gets
 * the host's /etc read-only, minus what the host keeps from other users (jail/etc-mask.ts),
 * with its own hostname, hosts and resolv.conf laid over it. Where that cannot serve jails
 * well, a warning says where and what to do. Facts come from host-facts.ts.
 */
import { etcMasks, type EtcEntry } from '../jail/etc-mask.js';
import { JAIL_OWN_ETC } from '../jail/etc-spec.js';

/** A row of host check (a CheckResult of kind 'os'; declared here so host-checks.ts can import this file). */
export interface OsCheckRow {
  name: string;
  kind: 'os';
  required: false;
  neededFor: 'optional';
  status: 'present' | 'warning';
  detail: string;
  fix: string;
}

export interface OsViewFacts {
  /** The host's /etc, as jail/etc-scan.ts lists it. */
  etc: EtcEntry[];
  /** Symbolic links of the OS dirs every jail shares (/usr/bin, /usr/sbin, ...): path and target. */
  osLinks: { path: string; target: string }[];
  /** The host's /etc/nsswitch.conf, if any. */
  nsswitch?: string;
}

/** Dirs of commands whose symbolic links host check follows into /etc (alternatives and the like). */
export const OS_LINK_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];
/** nsswitch sources that need a daemon or a socket outside the jail's network namespace and mount view. */
const REMOTE_NSS = ['ldap', 'nis', 'nisplus', 'sss', 'winbind', 'hesiod'];

function normalize(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** Where a link target lands after following links inside /etc (links out of /etc end the walk). */
export function resolveInEtc(target: string, from: string, etc: readonly EtcEntry[]): string {
  const links = new Map(etc.filter((e) => e.target !== undefined).map((e) => [`/etc/${e.path}`, e.target!]));
  let p = normalize(target.startsWith('/') ? target : `${from.slice(0, from.lastIndexOf('/'))}/${target}`);
  for (let hops = 0; hops < 16 && links.has(p); hops++) {
    const t = links.get(p)!;
    p = normalize(t.startsWith('/') ? t : `${p.slice(0, p.lastIndexOf('/'))}/${t}`);
  }
  return p;
}

function row(name: string, ok: boolean, detail: string, fix: string): OsCheckRow {
  return { name, kind: 'os', required: false, neededFor: 'optional', status: ok ? 'present' : 'warning', detail, fix: ok ? '' : fix };
}

export function evaluateOsView(f: OsViewFacts): OsCheckRow[] {
  const masks = etcMasks(f.etc);
  const masked = (p: string) => masks.some((m) => p === m.path || p.startsWith(`${m.path}/`));
  const hidden = f.osLinks
    .map((l) => ({ ...l, lands: resolveInEtc(l.target, l.path, f.etc) }))
    .filter((l) => l.lands.startsWith('/etc/') && masked(l.lands));
  const present = new Set(f.etc.map((e) => e.path));
  const noOwn = JAIL_OWN_ETC.filter((n) => !present.has(n));
  const nssLines = (f.nsswitch ?? '').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => /^(passwd|group|hosts):/.test(l));
  const remote = [...new Set(nssLines.flatMap((l) => l.split(/[\s:]+/).slice(1).filter((s) => REMOTE_NSS.includes(s))))];
  return [
    row('etc-masked', true, masks.length ? `jails do not see ${masks.length} path(s) the host keeps from other users: ${masks.map((m) => m.path).join(' ')}` : 'jails see all of /etc: nothing in it is kept from other users', ''),
    row('etc-links', hidden.length === 0,
      hidden.length ? hidden.map((l) => `${l.path} -> ${l.target} is masked in jails (${l.lands})`).join('; ') : 'no tool of the shared OS leads into a masked part of /etc',
      'make what they lead to world-readable if it holds no secret (chmod o+r, o+rx for a directory), or give the jails that need it etc: { PATH: host }'),
    row('etc-own-files', noOwn.length === 0,
      noOwn.length ? `missing: ${noOwn.map((n) => `/etc/${n}`).join(', ')}; a jail's own file is laid over the host's, so jails cannot start` : `${JAIL_OWN_ETC.map((n) => `/etc/${n}`).join(', ')} present (each jail gets its own over them)`,
      `create them on the host, empty if need be: touch ${noOwn.map((n) => `/etc/${n}`).join(' ')}`),
    row('nsswitch', remote.length === 0,
      remote.length ? `/etc/nsswitch.conf looks up users, groups or hosts with ${remote.join(', ')}, which jails cannot reach` : 'users, groups and hosts come from files and DNS, which jails can read',
      'keep the users jails run as in /etc/passwd and /etc/group (files first in nsswitch.conf), or give jails numeric users'),
  ];
}
