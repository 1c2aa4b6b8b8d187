/**
 * IPv4 address plan for the jails of one host (pure: no I/O, no clock).
 *
 * A host has one jail subnet (default 10.77.0.0/24). Its first host address is the gateway:
 * it sits on the host's bridge. Jails get the other host addresses; the network and
 * broadcast addresses are never handed out. Allocation picks the lowest free address, so
 * plans are deterministic and easy to read.
 *
 * Addresses are handled as unsigned 32-bit numbers internally and as dotted quads outside.
 */
import { UserError } from '../sys/errors.js';

export const DEFAULT_JAIL_SUBNET = '10.77.0.0/24';

export interface Subnet {
  /** Canonical `A.B.C.D/P`. */
  cidr: string;
  network: number;
  prefix: number;
  broadcast: number;
  /** First host address: the bridge's address and every jail's default route. */
  gateway: number;
}

const QUAD_RE = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** Parses a dotted quad strictly (no leading zeros, which some tools read as octal). */
export function parseIPv4(field: string, value: string): number {
  const m = typeof value === 'string' ? QUAD_RE.exec(value) : null;
  const parts = m ? m.slice(1, 5).map(Number) : [];
  if (!m || parts.some((p) => p > 255)) {
    throw new UserError(`${field}: invalid IPv4 address ${JSON.stringify(value)}`, 'write four numbers 0-255 separated by dots, without leading zeros, for example 10.77.0.5');
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** parseIPv4 that returns undefined instead of throwing (for records read from disk). */
export function tryParseIPv4(value: string): number | undefined {
  try { return parseIPv4('address', value); } catch { return undefined; } // not an address: the caller's answer is undefined
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The netmask of a prefix length (0..32) as a number. */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * True when the address `ip` is inside the network `cidr` (A.B.C.D/P, P 0..32, host bits
 * ignored); false for anything unparsable. For addresses read from other hosts and tools.
 */
export function inCidr(cidr: string, ip: string): boolean {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  const n = m ? tryParseIPv4(m[1]!) : undefined;
  const a = tryParseIPv4(ip);
  const p = Number(m?.[2]);
  if (n === undefined || a === undefined || p > 32) return false;
  return ((a & maskOf(p)) >>> 0) === ((n & maskOf(p)) >>> 0);
}

/**
 * Parses `A.B.C.D/P` with 8 <= P <= 30 (a /30 holds the gateway and one jail). Host bits
 * must be zero, so a typo such as 10.77.0.1/24 is caught rather than silently widened.
 */
export function parseSubnet(field: string, cidr: string): Subnet {
  const fix = 'write a network address and a prefix length between 8 and 30, for example 10.77.0.0/24';
  const m = typeof cidr === 'string' ? /^([^/]+)\/(\d{1,2})$/.exec(cidr) : null;
  if (!m) throw new UserError(`${field}: invalid subnet ${JSON.stringify(cidr)}: expected A.B.C.D/PREFIX`, fix);
  const addr = parseIPv4(field, m[1]!);
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 30) {
    throw new UserError(`${field}: prefix /${prefix} of ${JSON.stringify(cidr)} is out of range`, fix);
  }
  const mask = maskOf(prefix);
  const network = (addr & mask) >>> 0;
  if (network !== addr) {
    throw new UserError(`${field}: ${JSON.stringify(cidr)} has host bits set`, `use the network address: ${formatIPv4(network)}/${prefix}`);
  }
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return { cidr: `${formatIPv4(network)}/${prefix}`, network, prefix, broadcast, gateway: network + 1 };
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & maskOf(s.prefix)) >>> 0) === s.network;
}

/** True for an address a jail may hold: inside the subnet, not network, gateway or broadcast. */
export function isJailAddress(s: Subnet, ip: number | undefined): boolean {
  return ip !== undefined && contains(s, ip) && ip > s.gateway && ip < s.broadcast;
}

export function gatewayOf(s: Subnet): string {
  return formatIPv4(s.gateway);
}

/** The gateway with the prefix, as it is put on the bridge: `10.77.0.1/24`. */
export function gatewayCidr(s: Subnet): string {
  return `${formatIPv4(s.gateway)}/${s.prefix}`;
}

/** A jail address with the subnet's prefix, as it is put on the jail's interface. */
export function addressCidr(s: Subnet, ip: string): string {
  return `${ip}/${s.prefix}`;
}

/** How many addresses jails can have in the subnet. */
export function capacity(s: Subnet): number {
  return s.broadcast - s.gateway - 1;
}

/** Jail name -> address, the content of the lease store. */
export type Leases = Readonly<Record<string, string>>;

function takenBy(leases: Leases, ip: string, except: string): string | undefined {
  return Object.keys(leases).find((j) => j !== except && leases[j] === ip);
}

/**
 * Checks an address a user asked for: inside the subnet, not its network, gateway or
 * broadcast address, and not leased to another jail. Returns it in canonical form.
 */
export function checkRequestedIp(s: Subnet, value: string, leases: Leases, jail: string, field = '--ip'): string {
  const n = parseIPv4(field, value);
  const ip = formatIPv4(n);
  const range = `${formatIPv4(s.gateway + 1)}-${formatIPv4(s.broadcast - 1)}`;
  if (!contains(s, n)) {
    throw new UserError(`${field}: ${ip} is outside this host's jail subnet ${s.cidr}`, `pick an address in ${range}, or leave --ip out to get one`);
  }
  const role = n === s.network ? 'the network address' : n === s.broadcast ? 'the broadcast address' : n === s.gateway ? "the gateway (the bridge's address)" : undefined;
  if (role) throw new UserError(`${field}: ${ip} is ${role} of ${s.cidr}`, `pick an address in ${range}`);
  const other = takenBy(leases, ip, jail);
  if (other !== undefined) {
    throw new UserError(`${field}: ${ip} is already used by jail ${JSON.stringify(other)}`, 'pick another address, or leave --ip out to get a free one');
  }
  return ip;
}

/** The lowest address of the subnet that no lease holds. Leases outside the subnet are ignored. */
export function allocateIp(s: Subnet, leases: Leases): string {
  const used = new Set<number>();
  for (const ip of Object.values(leases)) {
    const n = tryParseIPv4(ip);
    if (n !== undefined) used.add(n);
  }
  for (let n = s.gateway + 1; n < s.broadcast; n++) {
    if (!used.has(n)) return formatIPv4(n);
  }
  throw new UserError(`no free address left in the jail subnet ${s.cidr} (${capacity(s)} jails)`, 'remove unused jails, or configure a larger jail subnet');
}

/**
 * Decides the address of `jail`: its existing lease if it has one (and no different address
 * is requested), else the requested address, else the lowest free one. Returns the address
 * and the new lease table; the input is not changed.
 */
export function assignIp(s: Subnet, leases: Leases, jail: string, requested?: string): { ip: string; leases: Record<string, string> } {
  const current = leases[jail];
  let ip: string;
  if (requested !== undefined) ip = checkRequestedIp(s, requested, leases, jail);
  else if (current !== undefined && isJailAddress(s, tryParseIPv4(current))) ip = current;
  else ip = allocateIp(s, withoutKey(leases, jail));
  return { ip, leases: { ...leases, [jail]: ip } };
}

export function withoutKey(leases: Leases, jail: string): Record<string, string> {
  const out: Record<string, string> = { ...leases };
  delete out[jail];
  return out;
}
