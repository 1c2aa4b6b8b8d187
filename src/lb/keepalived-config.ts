/**
 * keepalived for the floating address (lb.vip), built by pure functions: the configuration
 * text (golden file: test/fixtures/lb/keepalived.conf), the argv that runs and tests it, the
 * paths under DATA_DIR/lb/, and the track file's value. keepalived.ts runs what this builds.
 *
 * One VRRP instance per host, all alike but for the addresses and the priority:
 * - VRRPv3 (`version 3`): v2 only knows whole seconds; v3 counts in centiseconds, so
 *   `advert_int 0.1` (checked with `keepalived -t` 2.2.7, which rounds and warns under v2).
 *   A backup takes over after 3 adverts missed plus a skew: about 0.35 s.
 * - unicast: adverts go from this host's address to every other known host's, so nothing
 *   depends on multicast reaching the hosts (clouds, some bridges drop it).
 * - every host starts `state BACKUP` with `nopreempt`: the priorities (from the order of the
 *   host names) only break ties in an election; a host that comes back (an agent restart, a
 *   healed link, a rebooted machine) does not take the VIP from the one holding it, so the
 *   VIP moves only when its holder fails, each move costing the clients a few lost packets.
 * - gratuitous ARP at once on becoming master (`garp_master_delay 0`, a repeat of 3), so the
 *   switch and the clients learn the new MAC now rather than when their ARP entry expires.
 * - `virtual_router_id` from the VIP (a hash): stable across restarts and equal on every host.
 * - a track file with weight 0 (a non-zero value puts the instance in FAULT, which gives the
 *   VIP up): the agent writes 0 while this host's HAProxy runs and the agent holds its
 *   cluster lease, 1 otherwise. A host cut off from the majority loses its lease within the
 *   TTL (3 s) and gives the VIP up instead of keeping a second copy; so does a host whose
 *   HAProxy is down. A file, not a vrrp_script: nothing is forked every interval, and the
 *   agent, which knows both facts, decides.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { LbRecord } from './model.js';
import { inCidr } from '../jail/ipam.js';

/** Seconds between adverts (VRRPv3 allows centiseconds). */
export const ADVERT_INT = 0.1;
/** The VRRP process's nice value (global_defs vrrp_priority). */
export const VRRP_NICE = -10;
/** Gratuitous ARPs sent at once on becoming master. */
export const GARP_REPEAT = 3;
/** The VRRP instance's and the track file's names in the configuration. */
export const INSTANCE = 'cellblock_vip';
export const TRACK = 'cellblock_lb_ready';

export interface VipPeer { name: string; address: string }

/** What one host's keepalived configuration is made of. */
export interface VipSettings {
  host: string;
  /** This host's address: unicast_src_ip. */
  address: string;
  /** The interface carrying address (HostLive.interface), where the VIP goes. */
  interface: string;
  /** The prefix length of that interface's network: the VIP's. */
  prefix: number;
  vip: string;
  /** Every known host, this one included (unicast peers and priorities). */
  hosts: VipPeer[];
  trackFile: string;
}

export interface KeepalivedPaths {
  dir: string;
  config: string;
  pid: string;
  vrrpPid: string;
  checkersPid: string;
  trackFile: string;
  log: string;
}

/** Everything of this host's keepalived, under DATA_DIR/lb/ (hosts sharing a machine share nothing). */
export function keepalivedPaths(dataDir: string): KeepalivedPaths {
  const dir = join(dataDir, 'lb');
  return {
    dir,
    config: join(dir, 'keepalived.conf'),
    pid: join(dir, 'keepalived.pid'),
    vrrpPid: join(dir, 'keepalived-vrrp.pid'),
    checkersPid: join(dir, 'keepalived-checkers.pid'),
    trackFile: join(dir, 'keepalived.track'),
    log: join(dir, 'keepalived.log'),
  };
}

/**
 * keepalived in the foreground (the caller detaches it: it outlives the agent), VRRP only,
 * logging to its stdout (a file) with details, not to syslog; its own pid files.
 */
export function keepalivedArgv(p: KeepalivedPaths, config = p.config): string[] {
  return ['keepalived', '--dont-fork', '--vrrp', '--log-console', '--log-detail', '--no-syslog', '--use-file', config, '--pid', p.pid, '--vrrp_pid', p.vrrpPid, '--checkers_pid', p.checkersPid];
}

/** `keepalived -t`: exit 0 when the configuration is valid (2.2.7: non-zero and the problem on stderr otherwise). */
export function keepalivedTestArgv(config: string): string[] {
  return ['keepalived', '--config-test', '--use-file', config];
}

/** Priority of `host` among `names`: 200 for the first by name, one less for each next, at least 1. */
export function vrrpPriority(host: string, names: readonly string[]): number {
  const sorted = [...new Set(names)].sort();
  const i = sorted.indexOf(host);
  return Math.max(1, 200 - (i < 0 ? sorted.length : i));
}

/** 1..255, from the VIP: the same on every host, across restarts. */
export function virtualRouterId(vip: string): number {
  return (createHash('sha256').update(vip).digest().readUInt32BE(0) % 255) + 1;
}

/** The track file's content: 0 (may hold the VIP) only while HAProxy runs and the lease is held. */
export function trackValue(o: { haproxyRunning: boolean; leaseHeld: boolean }): 0 | 1 {
  return o.haproxyRunning && o.leaseHeld ? 0 : 1;
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** keepalived.conf for one host. */
export function keepalivedConfig(s: VipSettings): string {
  const peers = s.hosts.filter((h) => h.name !== s.host && h.address !== s.address).map((h) => h.address);
  const lines = [
    '# made by cellblock (lb/keepalived-config.ts); rewritten when the hosts or lb.vip change',
    'global_defs {',
    `  router_id ${s.host}`,
    // adverts every 0.1 s: a VRRP process starved of CPU for 0.35 s (a busy small host) would
    // look dead to its peers; a higher scheduling priority (nice -10) keeps it on time
    `  vrrp_priority ${VRRP_NICE}`,
    '}',
    '',
    `track_file ${TRACK} {`,
    `  file ${quote(s.trackFile)}`,
    '  weight 0',
    '}',
    '',
    `vrrp_instance ${INSTANCE} {`,
    '  version 3',
    '  state BACKUP',
    '  nopreempt',
    `  interface ${s.interface}`,
    `  virtual_router_id ${virtualRouterId(s.vip)}`,
    `  priority ${vrrpPriority(s.host, s.hosts.map((h) => h.name))}`,
    `  advert_int ${ADVERT_INT}`,
    '  garp_master_delay 0',
    `  garp_master_repeat ${GARP_REPEAT}`,
    // keepalived 2.2.7 refuses unicast without a peer: a lone host adverts by multicast, to nobody
    ...(peers.length ? [`  unicast_src_ip ${s.address}`, '  unicast_peer {', ...peers.map((a) => `    ${a}`), '  }'] : []),
    '  virtual_ipaddress {',
    `    ${s.vip}/${s.prefix} dev ${s.interface}`,
    '  }',
    '  track_file {',
    `    ${TRACK}`,
    '  }',
    '}',
  ];
  return lines.join('\n') + '\n';
}

export interface VipSelf { name: string; address: string; network?: string; interface?: string }

/**
 * This host's settings from the cluster's `lb` record and the known hosts, or why it runs no
 * keepalived (one sentence for the log).
 */
export function vipSettings(lb: LbRecord | undefined, self: VipSelf, hosts: readonly VipPeer[], trackFile: string): { settings: VipSettings } | { none: string } {
  const vip = lb?.spec.vip;
  if (!vip) return { none: 'no lb.vip is set' };
  if (!self.network || !self.interface) return { none: `no interface of this host carries its address ${self.address}` };
  if (!inCidr(self.network, vip)) return { none: `lb.vip ${vip} is outside this host's network ${self.network}` };
  const others = hosts.filter((h) => h.name !== self.name);
  const prefix = Number(self.network.split('/')[1]);
  return { settings: { host: self.name, address: self.address, interface: self.interface, prefix, vip, hosts: [{ name: self.name, address: self.address }, ...others], trackFile } };
}
