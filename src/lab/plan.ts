/**
 * What a lab is made of, decided before anything exists (pure): names, addresses, subnets,
 * paths and the argument arrays that make and unmake them.
 *
 *   switch namespace cbl-NAME-sw:  bridge br0, ports p0 .. p<n-1>; the client 10.X.0.250/24 on br0
 *   the lab's suggested VIP:        10.X.0.100 (for a stack's `lb: { vip }`; nothing holds it until one is applied)
 *   host namespace   cbl-NAME-hI:  lo up, eth0 = 10.X.0.<I+1>/24 (veth peer of pI)
 *   host I's jails:                in a cluster lab, the /24 the cluster hands out (10.77.I.0/24);
 *                                  otherwise 10.X.<I+1>.0/24 (the agent's --subnet); bridge inside cbl-NAME-hI
 *   host I's data dir:             ROOT/NAME/hI; its agent's log ROOT/NAME/hI.agent.log
 *
 * X is 100 + (sha256(NAME) mod 50): every address of a lab lives only inside the lab's own
 * namespaces, so two labs with the same X would still not meet; deriving X from the name
 * keeps it stable across `lab up` and `lab down` and away from the 10.150-249 ranges the
 * single-host tests use in the root namespace. Interface names (br0, pI, eth0) are local to
 * their namespace, so the 15-character limit never meets the lab's name; only network
 * namespace names carry it, and those are plain file names under /run/netns.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UserError } from '../sys/errors.js';
import { ANY_CODE } from '../sys/exec.js';

export const LAB_NAME_RE = /^[a-z][a-z0-9]{0,15}$/;
export const DEFAULT_LAB_NAME = 'lab';
export const DEFAULT_LAB_ROOT = '/var/lib/cellblock-lab';
export const MAX_HOSTS = 9;
export const NETNS_DIR = '/run/netns';
export const BRIDGE = 'br0';
/** Sparse: room for a few replicas at the default 1G disk limit each, written blocks only. */
export const DEFAULT_POOL_SIZE = '4G';
/** The last octet of the client's address on the LAN and of the suggested VIP (hosts take .1 to .9). */
export const CLIENT_OCTET = 250;
export const VIP_OCTET = 100;
/** `lab exec client -- CMD`: the client position's name. */
export const CLIENT = 'client';

export type Argv = string[];

export { ANY_CODE };

export interface LabHostPlan {
  /** h0, h1, ...: the host's name in the cluster too. */
  name: string;
  index: number;
  netns: string;
  nsPath: string;
  /** The host's port on the switch (inside the switch namespace). */
  port: string;
  /** eth0's address, without prefix length. */
  address: string;
  /** The jail subnet of a lab without a cluster (agent --subnet); a cluster lab's hosts get theirs from the cluster. */
  subnet: string;
  dataDir: string;
  agentLog: string;
}

export interface LabPlan {
  name: string;
  root: string;
  /** ROOT/NAME: the data dirs, agent logs and lab.json. */
  dir: string;
  stateFile: string;
  switchNs: string;
  /** The LAN: 10.X.0.0/24. */
  lan: string;
  /**
   * A client's position on the LAN, outside every host: an address on the switch's bridge, so
   * traffic to a VIP comes from where a user's would (`lab exec client -- curl ...`). A cut host
   * (`lab cut`) is cut off from it too.
   */
  client: { address: string; nsPath: string };
  /** A free LAN address suggested as the stack's `lb: { vip }`. */
  vip: string;
  hosts: LabHostPlan[];
}

export function checkLabName(name: unknown, field = '--name'): string {
  if (typeof name !== 'string' || !LAB_NAME_RE.test(name)) {
    throw new UserError(`${field}: invalid lab name ${JSON.stringify(name)}`, 'use a lowercase letter followed by at most 15 lowercase letters or digits, e.g. lab, demo, t1');
  }
  return name;
}

export function checkHostCount(n: unknown, field = '--hosts'): number {
  const v = typeof n === 'string' && /^\d+$/.test(n) ? Number(n) : n;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_HOSTS) {
    throw new UserError(`${field}: expected a whole number from 1 to ${MAX_HOSTS}, got ${JSON.stringify(n)}`, `give e.g. ${field} 3`);
  }
  return v;
}

/** The second octet of every address of lab `name`: 100..149. */
export function labOctet(name: string): number {
  return 100 + (createHash('sha256').update(name).digest().readUInt32BE(0) % 50);
}

export const switchNsName = (lab: string) => `cbl-${lab}-sw`;
export const hostNsName = (lab: string, i: number) => `cbl-${lab}-h${i}`;
/** Every namespace name of lab `lab` starts with this (none of another lab: names have no '-'). */
export const labNsPrefix = (lab: string) => `cbl-${lab}-`;

export function planLab(name: string, hosts: number, root = DEFAULT_LAB_ROOT): LabPlan {
  checkLabName(name);
  checkHostCount(hosts);
  const x = labOctet(name);
  const dir = join(root, name);
  return {
    name,
    root,
    dir,
    stateFile: join(dir, 'lab.json'),
    switchNs: switchNsName(name),
    lan: `10.${x}.0.0/24`,
    client: { address: `10.${x}.0.${CLIENT_OCTET}`, nsPath: `${NETNS_DIR}/${switchNsName(name)}` },
    vip: `10.${x}.0.${VIP_OCTET}`,
    hosts: Array.from({ length: hosts }, (_, i) => ({
      name: `h${i}`,
      index: i,
      netns: hostNsName(name, i),
      nsPath: `${NETNS_DIR}/${hostNsName(name, i)}`,
      port: `p${i}`,
      address: `10.${x}.0.${i + 1}`,
      subnet: `10.${x}.${i + 1}.0/24`,
      dataDir: join(dir, `h${i}`),
      agentLog: join(dir, `h${i}.agent.log`),
    })),
  };
}

/** The host of a plan by name (h0) or index ("0"); a UserError naming the hosts there are. */
export function findHost<T extends { name: string }>(hosts: readonly T[], ref: string, lab: string): T {
  const h = hosts.find((x) => x.name === ref) ?? (/^\d+$/.test(ref) ? hosts[Number(ref)] : undefined);
  if (!h) throw new UserError(`lab ${lab} has no host ${JSON.stringify(ref)}`, `use one of ${hosts.map((x) => x.name).join(', ')}`);
  return h;
}

// ---- argv builders ----

export const ip = (...args: string[]): Argv => ['ip', ...args];
export const netnsAdd = (ns: string): Argv => ip('netns', 'add', ns);
export const netnsDel = (ns: string): Argv => ip('netns', 'del', ns);
export const netnsPids = (ns: string): Argv => ip('netns', 'pids', ns);

/** `ip -batch -` input that makes the switch's bridge, with the client's address on it when given (run with ip -n SWITCH). */
export function switchBatch(client?: string): string {
  return [`link set dev lo up`, `link add name ${BRIDGE} type bridge`, ...(client ? [`addr add ${client}/24 dev ${BRIDGE}`] : []), `link set dev ${BRIDGE} up`].join('\n') + '\n';
}

/** The veth pI (switch side) <-> eth0 (born directly in the host's namespace). */
export function hostVethAdd(p: LabPlan, h: LabHostPlan): Argv {
  return ip('-n', p.switchNs, 'link', 'add', 'name', h.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns);
}

/** Plugs the host's port into the switch (also: `lab heal`). */
export function portUp(p: LabPlan, h: LabHostPlan): Argv {
  return ip('-n', p.switchNs, 'link', 'set', 'dev', h.port, 'master', BRIDGE, 'up');
}

/** `lab cut`: the port leaves the bridge; the host keeps its carrier, address and routes and hears nothing. */
export function portCut(p: LabPlan, h: LabHostPlan): Argv {
  return ip('-n', p.switchNs, 'link', 'set', 'dev', h.port, 'nomaster');
}

/** `ip -batch -` input for the host's side (run with ip -n HOST). */
export function hostBatch(h: LabHostPlan): string {
  return [`link set dev lo up`, `addr add ${h.address}/24 dev eth0`, `link set dev eth0 up`].join('\n') + '\n';
}

/** argv run inside host h's network namespace only (never `ip netns exec`: it remounts /sys and runc fails). */
export function inHost(h: Pick<LabHostPlan, 'nsPath'>, argv: readonly string[]): Argv {
  return ['nsenter', `--net=${h.nsPath}`, '--', ...argv];
}

/** argv run at the lab's client position: the switch's namespace, whose bridge has the client address. */
export function inClient(p: Pick<LabPlan, 'client'>, argv: readonly string[]): Argv {
  return ['nsenter', `--net=${p.client.nsPath}`, '--', ...argv];
}

/** The real CLI of this repository against host h's data dir, inside its namespace. */
export function hostCli(h: Pick<LabHostPlan, 'nsPath' | 'dataDir'>, node: string, bin: string, args: readonly string[]): Argv {
  return inHost(h, [node, bin, '--data-dir', h.dataDir, ...args]);
}

/**
 * The host's agent, inside its namespace (nsenter execs it: its PID is the agent's). In a lab
 * made one cluster the agent takes no --subnet: the cluster hands each joining host a subnet
 * of its own, as on real machines; otherwise it gets the plan's.
 */
export function agentArgv(h: LabHostPlan, node: string, bin: string, extra: readonly string[] = [], o: { subnet?: boolean } = {}): Argv {
  return hostCli(h, node, bin, ['agent', ...(o.subnet ?? true ? ['--subnet', h.subnet] : []), ...extra]);
}

/** `cluster init` on h0 (the first host). */
export function initArgs(p: LabPlan): string[] {
  const h = p.hosts[0]!;
  return ['cluster', 'init', '--advertise', h.address, '--name', h.name];
}

/** `cluster join` of host h through h0, with a token from `cluster token` on h0. */
export function joinArgs(p: LabPlan, h: LabHostPlan, token: string): string[] {
  return ['cluster', 'join', p.hosts[0]!.address, '--token', token, '--advertise', h.address, '--name', h.name];
}
