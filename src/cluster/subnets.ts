/**
 * Jail subnets handed out by the cluster: `cluster init --range` (default 10.77.0.0/16) fixes
 * the range; each joining host gets the lowest /24 of it that no host holds (subnets/<net> in
 * etcd), unless it asks for one of its own. Pure: the caller reads and writes the keys.
 */
import { UserError } from '../sys/errors.js';
import { contains, formatIPv4, parseSubnet, tryParseIPv4, type Subnet } from '../jail/ipam.js';

export const DEFAULT_CLUSTER_RANGE = '10.77.0.0/16';
/** The size of each host's jail subnet: 253 jails. */
export const HOST_PREFIX = 24;

/** Cluster-wide settings kept under K.settings. */
export interface ClusterSettings {
  /** The range jail subnets are handed out from. */
  jailRange: string;
  /**
   * Disk overcommit: the scheduler offers each host's pool size times this ratio (`cluster
   * init --overcommit`). Absent: 1, nothing promised beyond the pool.
   */
  overcommit?: number;
  /** Disk limit of a replica whose service sets no `disk:` (`cluster init --default-disk`); absent: 1G. */
  defaultDisk?: number;
}

/** The default disk overcommit ratio: no host is promised more disk than its pool has. */
export const DEFAULT_OVERCOMMIT = 1;
/** The largest --overcommit accepted: beyond it a limit stops meaning anything. */
export const MAX_OVERCOMMIT = 100;

/** --overcommit RATIO: a number from 1 to MAX_OVERCOMMIT (1.5 promises half again the pool's size). */
export function parseOvercommit(field: string, value: string | number): number {
  const text = String(value).trim();
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < 1 || n > MAX_OVERCOMMIT) {
    throw new UserError(`${field}: invalid ratio ${JSON.stringify(String(value))}`, `give a number from 1 (no overcommit) to ${MAX_OVERCOMMIT}, for example 1.5`);
  }
  return n;
}

/** A cluster range: a network of /8 to /24 (a /24 holds one host). */
export function parseRange(field: string, cidr: string): Subnet {
  const r = parseSubnet(field, cidr);
  if (r.prefix > HOST_PREFIX) throw new UserError(`${field}: ${cidr} is smaller than one host's /${HOST_PREFIX}`, 'give a range of /24 or larger, e.g. 10.77.0.0/16 (256 hosts)');
  return r;
}

/** The network address of a subnet key (subnets/<net>): '10.77.3.0' for '10.77.3.0/24'. */
export const subnetKeyOf = (cidr: string): string => cidr.split('/')[0]!;

/** True when the two subnets share an address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.network <= b.broadcast && b.network <= a.broadcast;
}

/**
 * The lowest /24 of range that overlaps none of `taken` (CIDRs of the hosts' subnets) and
 * holds none of `avoid` (the hosts' own addresses: a range that covers the hosts' network
 * must not hand that network out), or a UserError when the range is full.
 */
export function nextFreeSubnet(range: string, taken: readonly string[], avoid: readonly string[] = []): string {
  const r = parseRange('cluster range', range);
  const used = taken.map((t) => parseSubnet('subnet', t));
  const addrs = avoid.map((a) => tryParseIPv4(a)).filter((n): n is number => n !== undefined);
  const step = 2 ** (32 - HOST_PREFIX);
  for (let net = r.network; net + step - 1 <= r.broadcast; net += step) {
    const cand = parseSubnet('subnet', `${formatIPv4(net)}/${HOST_PREFIX}`);
    if (!used.some((u) => overlaps(u, cand)) && !addrs.some((a) => contains(cand, a))) return cand.cidr;
  }
  throw new UserError(`every /${HOST_PREFIX} of the cluster range ${r.cidr} is taken (${used.length} hosts)`, 'remove hosts that are gone (cellblock cluster remove NAME), or join with --subnet CIDR outside the range');
}
