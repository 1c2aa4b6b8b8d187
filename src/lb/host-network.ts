/**
 * The network this host's advertise address is on (HostLive.network / .interface): where a
 * floating address (lb.vip) may go and on which interface keepalived puts it. Read once at
 * the agent's start from `ip -j -4 addr show` (parsed by a pure function), and every second
 * by the VIP watcher (addressesOn: does this host hold the VIP?).
 */
import { formatIPv4, maskOf, parseIPv4, tryParseIPv4 } from '../jail/ipam.js';
import type { Exec } from '../sys/exec.js';
import { parseAddrShow } from '../jail/net.js';

export interface HostNetwork {
  /** CIDR network of the interface's address, e.g. 10.101.0.0/24. */
  network: string;
  /** The interface's name, e.g. eth0. */
  interface: string;
  /** The address's prefix length. */
  prefix: number;
}

interface IpAddrLink { ifname?: string; addr_info?: { family?: string; local?: string; prefixlen?: number }[] }

/** argv: every IPv4 address of the namespace, or of one device. */
export const ipAddrShowArgv = (dev?: string): string[] => ['ip', '-j', '-4', 'addr', 'show', ...(dev ? ['dev', dev] : [])];

function links(stdout: string): IpAddrLink[] {
  return stdout.trim() ? (JSON.parse(stdout) as IpAddrLink[]) : [];
}

/**
 * The interface carrying `address` and its network (pure), from `ip -j -4 addr show`;
 * undefined when no interface has it (e.g. an advertise address that is NATed to this host).
 */
export function networkOf(stdout: string, address: string): HostNetwork | undefined {
  const ip = tryParseIPv4(address);
  if (ip === undefined) return undefined;
  for (const l of links(stdout)) {
    for (const a of l.addr_info ?? []) {
      if (a.family !== 'inet' || a.local !== address || a.prefixlen === undefined || !l.ifname) continue;
      return { network: `${formatIPv4((ip & maskOf(a.prefixlen)) >>> 0)}/${a.prefixlen}`, interface: l.ifname, prefix: a.prefixlen };
    }
  }
  return undefined;
}

/** Every IPv4 address (without prefix) in `ip -j -4 addr show [dev D]` output (pure; jail/net.ts parses it). */
export function addressesIn(stdout: string): string[] {
  return parseAddrShow(stdout).map((a) => a.slice(0, a.indexOf('/')));
}

/** This host's network for `address` (throws the ExecError when `ip` fails). */
export async function readHostNetwork(exec: Exec, address: string): Promise<HostNetwork | undefined> {
  parseIPv4('address', address);
  return networkOf((await exec(ipAddrShowArgv())).stdout, address);
}
