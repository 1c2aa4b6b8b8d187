/**
 * Key naming in etcd. Everything cellblock keeps there is under KEY_PREFIX; the Store works in
 * that namespace, so the names below are relative to it ('hosts/a' is '/cellblock/hosts/a').
 * Names are checked before they become keys, as before they become paths.
 */
import { checkName } from '../sys/names.js';

export const KEY_PREFIX = '/cellblock/';

/** Host membership: one key per live agent, attached to its lease. */
export const HOSTS_PREFIX = 'hosts/';
/** The leader: the name of the agent that may write placements, attached to its lease. */
export const LEADER_KEY = 'leader';

export function hostKey(name: string): string {
  return HOSTS_PREFIX + checkName('host', name);
}

/** The host name of a key under HOSTS_PREFIX, or undefined for any other key. */
export function hostOfKey(key: string): string | undefined {
  if (!key.startsWith(HOSTS_PREFIX)) return undefined;
  const name = key.slice(HOSTS_PREFIX.length);
  return name !== '' && !name.includes('/') ? name : undefined;
}

/** The absolute etcd key of a key relative to KEY_PREFIX (for etcdctl and messages). */
export function absoluteKey(key: string): string {
  return KEY_PREFIX + key;
}
