/**
 * The jail's user by name or number (pure): `user: www-data`, `postgres:postgres`, `1000`,
 * `33:www-data`. Names are resolved against the passwd and group files the jail sees: the
 * host's, since a jail's /etc is the host's. An unknown name is refused with the field and
 * the fix, before anything is made.
 */
import { UserError } from '../sys/errors.js';

const MAX_ID = 4294967294; // 2^32 - 2: (uid_t)-1 means "no change" to the kernel
/** What Debian's adduser and useradd accept, plus capitals (Debian-exim) and a trailing $ (Samba machines). */
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const ID_RE = /^\d{1,10}$/;

/** One side of USER[:GROUP]: a number or a name. */
export type IdRef = { id: number } | { name: string };
/** `group` absent: as given without a group. `loginGroup`: "USER:" (chown's way to say the user's login group). */
export interface UserRef { user: IdRef; group?: IdRef; loginGroup?: true }

/** The numeric identity the jail's process runs as. */
export interface JailUser { uid: number; gid: number }

export interface PasswdEntry { name: string; uid: number; gid: number }
export interface GroupEntry { name: string; gid: number }
export interface Accounts { passwd: PasswdEntry[]; group: GroupEntry[] }

const FIX = 'write a user name or number, optionally with a group after ":", for example www-data, postgres:postgres or 1000:1000';

function idRef(field: string, value: string, part: string): IdRef {
  if (ID_RE.test(part)) {
    const id = Number(part);
    if (id > MAX_ID) throw new UserError(`${field}: ${part} in ${JSON.stringify(value)} is too large`, `use numbers from 0 to ${MAX_ID}`);
    return { id };
  }
  if (NAME_RE.test(part)) return { name: part };
  throw new UserError(`${field}: invalid user ${JSON.stringify(value)}`, FIX);
}

/** The syntax of USER[:GROUP]; `field` names the option in messages ("--user", "user"). */
export function parseUserRef(value: string, field = '--user'): UserRef {
  if (typeof value !== 'string') throw new UserError(`${field}: invalid user ${JSON.stringify(value)}`, FIX);
  const text = value.trim();
  const parts = text.split(':');
  if (parts.length > 2 || parts[0] === '') throw new UserError(`${field}: invalid user ${JSON.stringify(value)}`, FIX);
  const ref: UserRef = { user: idRef(field, value, parts[0]!) };
  if (parts[1] === '') ref.loginGroup = true;
  else if (parts[1] !== undefined) ref.group = idRef(field, value, parts[1]);
  return ref;
}

/** The normalized text of a reference ("www-data", "1000:1000"). */
export function formatUserRef(ref: UserRef): string {
  const one = (r: IdRef) => ('id' in r ? String(r.id) : r.name);
  return ref.group ? `${one(ref.user)}:${one(ref.group)}` : ref.loginGroup ? `${one(ref.user)}:` : one(ref.user);
}

/** Whether resolving needs the passwd and group files. */
export function hasNames(ref: UserRef): boolean {
  return 'name' in ref.user || ref.loginGroup === true || (ref.group !== undefined && 'name' in ref.group);
}

function num(s: string | undefined): number | undefined {
  return s !== undefined && ID_RE.test(s) ? Number(s) : undefined;
}

/** passwd(5) lines; malformed lines and NIS "+" entries are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const uid = num(f[2]);
    const gid = num(f[3]);
    if (f.length >= 7 && f[0] && !f[0].startsWith('+') && !f[0].startsWith('-') && uid !== undefined && gid !== undefined) out.push({ name: f[0], uid, gid });
  }
  return out;
}

/** group(5) lines; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const gid = num(f[2]);
    if (f.length >= 4 && f[0] && !f[0].startsWith('+') && !f[0].startsWith('-') && gid !== undefined) out.push({ name: f[0], gid });
  }
  return out;
}

export function parseAccounts(files: { passwd: string; group: string }): Accounts {
  return { passwd: parsePasswd(files.passwd), group: parseGroup(files.group) };
}

/**
 * uid and gid of a reference. A user by name without a group, or any user written "USER:",
 * gets its login group from passwd; a user by number without a group gets the same number as
 * gid (as before names), and "UID:" the login group of that uid when the host names it.
 */
export function resolveUser(ref: UserRef, accounts: Accounts, field = '--user'): JailUser {
  const text = JSON.stringify(formatUserRef(ref));
  let uid: number;
  let primary: number | undefined;
  if ('id' in ref.user) {
    uid = ref.user.id;
    if (ref.loginGroup) primary = accounts.passwd.find((e) => e.uid === uid)?.gid;
  } else {
    const name = ref.user.name;
    const p = accounts.passwd.find((e) => e.name === name);
    if (!p) {
      throw new UserError(`${field}: ${text}: there is no user ${JSON.stringify(name)} in the host's /etc/passwd, which jails share`,
        `use a user that exists on the host (getent passwd lists them), a number such as 1000, or create it on the host first (adduser --system ${name})`);
    }
    uid = p.uid;
    primary = p.gid;
  }
  let gid: number;
  if (ref.group === undefined) gid = primary ?? uid;
  else if ('id' in ref.group) gid = ref.group.id;
  else {
    const name = ref.group.name;
    const g = accounts.group.find((e) => e.name === name);
    if (!g) {
      throw new UserError(`${field}: ${text}: there is no group ${JSON.stringify(name)} in the host's /etc/group, which jails share`,
        `use a group that exists on the host (getent group lists them), a number, or create it on the host first (addgroup --system ${name})`);
    }
    gid = g.gid;
  }
  return { uid, gid };
}
