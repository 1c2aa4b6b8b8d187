/**
 * `ip` (iproute2) command lines for jail networking, and the plans that wire a jail (pure).
 *
 * Wiring of one host:
 *   bridge BR (one per host) holds the gateway address, e.g. 10.77.0.1/24
 *   per jail: netns cb-<instance>-<jail>; veth pair cbv<hash> (host side, enslaved to BR)
 *   <-> eth0 (created directly inside the netns); lo up; eth0 has the jail's address;
 *   default route via the gateway.
 * Commands inside a jail's namespace use `ip -n NS`, which switches only the netlink
 * socket's namespace (unlike `ip netns exec`, it does not remount /sys).
 */
import { UserError } from '../sys/errors.js';
import { addressCidr, gatewayCidr, gatewayOf, type Subnet } from './ipam.js';
import type { JailNames } from './naming.js';

export type Argv = string[];

/** `ip [-n NS] ARGS...`; an undefined netns is dropped. */
export function ip(netns: string | undefined, ...args: string[]): Argv {
  return netns === undefined ? ['ip', ...args] : ['ip', '-n', netns, ...args];
}

export const netnsAdd = (name: string): Argv => ip(undefined, 'netns', 'add', name);
export const netnsDel = (name: string): Argv => ip(undefined, 'netns', 'del', name);
export const netnsList = (): Argv => ip(undefined, '-j', 'netns', 'list');
export const bridgeAdd = (bridge: string): Argv => ip(undefined, 'link', 'add', 'name', bridge, 'type', 'bridge');
/** A veth pair whose peer is born inside `peerNetns` under the name `peer`. */
export const vethAdd = (host: string, peer: string, peerNetns: string, peerMac?: string): Argv =>
  ip(undefined, 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer, ...(peerMac ? ['address', peerMac] : []), 'netns', peerNetns);

/**
 * The jail's MAC address, derived from its IPv4 address (as Docker does): a restarted jail
 * keeps the same MAC, so the ARP caches of the host and of other jails stay right. A random
 * MAC per start leaves them pointing at the old one until they expire, and the jail is
 * unreachable meanwhile. 02: locally administered, unicast; cb: ours.
 */
export function macForIp(ip: string): string {
  const parts = ip.split('.').map((x) => Number(x));
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bug: not an IPv4 address: ${ip}`);
  return ['02', 'cb', ...parts.map((x) => x.toString(16).padStart(2, '0'))].join(':');
}
export const linkSetNetns = (dev: string, netns: string): Argv => ip(undefined, 'link', 'set', 'dev', dev, 'netns', netns);
export const linkSetMaster = (dev: string, bridge: string): Argv => ip(undefined, 'link', 'set', 'dev', dev, 'master', bridge);
export const linkSetUp = (dev: string, netns?: string): Argv => ip(netns, 'link', 'set', 'dev', dev, 'up');
export const linkDel = (dev: string): Argv => ip(undefined, 'link', 'del', 'dev', dev);
export const linkShow = (dev: string, netns?: string): Argv => ip(netns, '-j', '-d', 'link', 'show', 'dev', dev);
export const addrAdd = (cidr: string, dev: string, netns?: string): Argv => ip(netns, 'addr', 'add', cidr, 'dev', dev);
export const addrShow = (dev: string, netns?: string): Argv => ip(netns, '-j', '-4', 'addr', 'show', 'dev', dev);
/** The link's details (kind, flags) and all its addresses in one process: parseLinkShow and parseAddrShow both read it. */
export const linkAddrShow = (dev: string, netns?: string): Argv => ip(netns, '-j', '-d', 'addr', 'show', 'dev', dev);
export const routeAddDefault = (gateway: string, netns?: string): Argv => ip(netns, 'route', 'add', 'default', 'via', gateway);

/** Linux interface names: 1-15 characters, no "/", no whitespace, not "." or "..". */
export function checkIfName(field: string, name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new UserError(`${field}: invalid interface name ${JSON.stringify(name)}`, 'use 1-15 letters, digits, ".", "_" or "-", for example cb0');
  }
  return name;
}

/** One step of a plan: the command, and the command that undoes it (if it needs undoing). */
export interface NetStep { argv: Argv; undo?: Argv }

/** Creates the host's bridge with the gateway address, and brings it up. */
export function bridgePlan(bridge: string, subnet: Subnet): NetStep[] {
  return [
    { argv: bridgeAdd(bridge), undo: linkDel(bridge) },
    { argv: addrAdd(gatewayCidr(subnet), bridge) },
    { argv: linkSetUp(bridge) },
  ];
}

/**
 * Wires one jail with address `jailIp`. Deleting the namespace also deletes eth0 and with it
 * the whole veth pair; the explicit link del undo covers a failure before the move.
 */
export function jailNetworkPlan(n: JailNames, bridge: string, subnet: Subnet, jailIp: string): NetStep[] {
  return [
    { argv: netnsAdd(n.netns), undo: netnsDel(n.netns) },
    { argv: vethAdd(n.vethHost, n.vethJail, n.netns, macForIp(jailIp)), undo: linkDel(n.vethHost) },
    { argv: linkSetMaster(n.vethHost, bridge) },
    { argv: linkSetUp(n.vethHost) },
    { argv: linkSetUp('lo', n.netns) },
    { argv: addrAdd(addressCidr(subnet, jailIp), n.vethJail, n.netns) },
    { argv: linkSetUp(n.vethJail, n.netns) },
    { argv: routeAddDefault(gatewayOf(subnet), n.netns) },
  ];
}

/** Removes a jail's wiring, namespace last so nothing is left dangling; each may be missing. */
export function jailTeardownPlan(n: JailNames): Argv[] {
  return [linkDel(n.vethHost), netnsDel(n.netns)];
}

/** Addresses (`A.B.C.D/P`) in the output of `ip -j -4 addr show dev DEV`. */
export function parseAddrShow(stdout: string): string[] {
  const out: string[] = [];
  const links = stdout.trim() ? (JSON.parse(stdout) as { addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[]) : [];
  for (const l of links) {
    for (const a of l.addr_info ?? []) if (a.family === 'inet' && a.local) out.push(`${a.local}/${a.prefixlen}`);
  }
  return out;
}

/** Facts about one link from `ip -j link show dev DEV`. */
export function parseLinkShow(stdout: string): { name: string; up: boolean; kind?: string; master?: string } | undefined {
  const links = stdout.trim() ? (JSON.parse(stdout) as { ifname: string; flags?: string[]; master?: string; linkinfo?: { info_kind?: string } }[]) : [];
  const l = links[0];
  if (!l) return undefined;
  const r: { name: string; up: boolean; kind?: string; master?: string } = { name: l.ifname, up: (l.flags ?? []).includes('UP') };
  if (l.linkinfo?.info_kind) r.kind = l.linkinfo.info_kind;
  if (l.master) r.master = l.master;
  return r;
}

/** Names in the output of `ip -j netns list` (iproute2 prints nothing at all when there are none). */
export function parseNetnsList(stdout: string): string[] {
  const list = stdout.trim() ? (JSON.parse(stdout) as { name: string }[] | null) : [];
  return (list ?? []).map((n) => n.name);
}

/**
 * The plan as `ip -batch` groups: consecutive commands for the same namespace become one
 * `ip [-n NS] -batch -` process with one command per line (pure). `netns add` always runs on
 * its own: it moves its own process into the new namespace, so later lines of a batch would
 * run in the wrong one.
 */
export function batchPlan(steps: readonly Argv[]): { argv: Argv; input?: string }[] {
  const out: { argv: Argv; input?: string; ns?: string | undefined; lines?: string[] }[] = [];
  for (const a of steps) {
    if (a[0] !== 'ip') throw new Error(`bug: not an ip command: ${a.join(' ')}`);
    let rest = a.slice(1);
    let ns: string | undefined;
    if (rest[0] === '-n') { ns = rest[1]; rest = rest.slice(2); }
    if (rest[0]?.startsWith('-') || (rest[0] === 'netns' && rest[1] === 'add') || rest.some((x) => /\s|"|'|\\|#/.test(x))) {
      out.push({ argv: a });
      continue;
    }
    const last = out[out.length - 1];
    if (last?.lines && last.ns === ns) last.lines.push(rest.join(' '));
    else out.push({ argv: ns === undefined ? ['ip', '-batch', '-'] : ['ip', '-n', ns, '-batch', '-'], ns, lines: [rest.join(' ')] });
  }
  return out.map((o) => (o.lines ? (o.lines.length === 1 ? { argv: ['ip', ...(o.ns === undefined ? [] : ['-n', o.ns]), ...o.lines[0]!.split(' ')] } : { argv: o.argv, input: o.lines.join('\n') + '\n' }) : { argv: o.argv }));
}
