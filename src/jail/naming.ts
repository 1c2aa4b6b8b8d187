/**
 * Names of the host resources of a jail, derived only from (instance, jail) so that teardown
 * finds exactly them again, even after a crash that lost every record (pure).
 *
 * - instance: names one cellblock data dir on this machine (a host; in e2e tests several
 *   hosts share one kernel and one /run/netns, so every machine-wide name carries it).
 * - runc container id: the jail name. runc's state dir is per data dir (DATA_DIR/runc), so
 *   instances do not see each other's containers.
 * - network namespace: `cb-<jail>@<instance>`, a file under /run/netns. Names are checked
 *   by names.ts (lowercase, digits, . _ -), so "@" cannot occur in either and the pair is
 *   unambiguous ("-" would not be: a-b + c and a + b-c); a plain file name of at most 130 chars.
 * - host-side veth: `cbv` + the first 12 hex digits of sha256("<instance>/<jail>"). Linux
 *   interface names have at most 15 characters, too few for the names themselves; 48 bits
 *   of hash make a collision between two jails of one host negligible, and if one ever
 *   happened `ip link add` fails with "File exists" instead of sharing a device.
 * - jail-side veth: `eth0`, created directly inside the jail's namespace (never visible on
 *   the host, so it cannot collide).
 * - cgroup: `/cellblock/<instance>/<jail>` under each controller (v1) or the unified root (v2).
 */
import { createHash } from 'node:crypto';
import { checkName } from '../sys/names.js';

export const NETNS_DIR = '/run/netns';
export const JAIL_IFNAME = 'eth0';

export interface JailNames {
  instance: string;
  jail: string;
  /** runc container id. */
  containerId: string;
  netns: string;
  netnsPath: string;
  vethHost: string;
  vethJail: string;
  cgroupsPath: string;
}

export function vethName(instance: string, jail: string): string {
  return `cbv${createHash('sha256').update(`${instance}/${jail}`).digest('hex').slice(0, 12)}`;
}

export function jailNames(instance: string, jail: string): JailNames {
  checkName('host', instance);
  checkName('jail', jail);
  const netns = `cb-${jail}@${instance}`;
  return {
    instance,
    jail,
    containerId: jail,
    netns,
    netnsPath: `${NETNS_DIR}/${netns}`,
    vethHost: vethName(instance, jail),
    vethJail: JAIL_IFNAME,
    cgroupsPath: `/cellblock/${instance}/${jail}`,
  };
}
