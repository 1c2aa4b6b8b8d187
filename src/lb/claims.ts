/**
 * What a stack publishes through the load balancer, and the checks that keep two services
 * from claiming the same thing. Pure. Each problem carries the schema path of the field it is
 * about, so the caller reports it at its line (spec/parse.ts stackErrorAt).
 *
 * - within one file (fileClaimProblems, run by the schema: `stack validate`, `diff`, `apply`):
 *   a host name or TCP port published by two services, a TCP port that is the lb's own;
 * - against the cluster (clusterClaimProblems, run by the agent at `apply`): the same against
 *   the other stacks' services, the cluster's `lb` record set by another stack, and a floating
 *   address outside every host's network.
 */
import type { LbSpec, Stack } from '../spec/types.js';
import { LB_DEFAULTS } from '../spec/types.js';
import type { HostLive, ServiceRecord } from '../cluster/model.js';
import type { LbRecord } from './model.js';
import { formatIPv4, inCidr, maskOf, tryParseIPv4 } from '../jail/ipam.js';

export interface ClaimProblem { path: PropertyKey[]; message: string; fix: string }

const ONE_OWNER = 'publish each host name from one service only';

/** Problems between the services of one file, in file order. */
export function fileClaimProblems(stack: Stack): ClaimProblem[] {
  const out: ClaimProblem[] = [];
  const names = new Map<string, string>();
  const ports = new Map<number, string>();
  const lb = stack.lb ?? LB_DEFAULTS;
  for (const s of Object.values(stack.services)) {
    const p = s.publish;
    if (!p) continue;
    (p.http ?? []).forEach((n, i) => {
      const other = names.get(n);
      if (other !== undefined) out.push({ path: ['services', s.name, 'publish', 'http', i], message: `${n} is already published by service ${other}`, fix: `${ONE_OWNER}: remove it here or from ${other}` });
      else names.set(n, s.name);
    });
    if (p.tcp !== undefined) {
      const path = ['services', s.name, 'publish', 'tcp'];
      const other = ports.get(p.tcp);
      const lbPort = p.tcp === lb.http ? 'http' : p.tcp === lb.https ? 'https' : undefined;
      if (lbPort) out.push({ path, message: `port ${p.tcp} is the load balancer's ${lbPort} port (lb.${lbPort}${stack.lb ? '' : ', the default'})`, fix: `publish the service on another TCP port, or give lb.${lbPort} another port` });
      else if (other !== undefined) out.push({ path, message: `port ${p.tcp} is already published by service ${other}`, fix: `give each service a TCP port of its own: change it here or in ${other}` });
      else ports.set(p.tcp, s.name);
    }
  }
  return out;
}

export interface ClusterView {
  /** The stack being applied, by name. */
  stack: string;
  /** The services of every other stack. */
  others: readonly ServiceRecord[];
  /** The cluster's `lb` record, if any stack set one. */
  lb?: LbRecord;
  /** The live hosts. */
  hosts: readonly HostLive[];
}

const fmtLb = (l: LbSpec) => `${l.vip ? `vip ${l.vip}, ` : ''}http ${l.http}, https ${l.https}`;

export const sameLb = (a: LbSpec, b: LbSpec): boolean => a.vip === b.vip && a.http === b.http && a.https === b.https;

/** The lb in force once `stack` is applied: the record of another stack, else the file's, else the defaults. */
export function effectiveLb(name: string, stack: Stack, rec: LbRecord | undefined): LbSpec {
  if (rec && rec.stack !== name) return rec.spec;
  return stack.lb ?? { ...LB_DEFAULTS };
}

/** What applying `stack` (named `v.stack`) would claim that the cluster already gives to another stack. */
export function clusterClaimProblems(stack: Stack, v: ClusterView): ClaimProblem[] {
  const out: ClaimProblem[] = [];
  const rec = v.lb && v.lb.stack !== v.stack ? v.lb : undefined;
  if (rec && stack.lb && !sameLb(rec.spec, stack.lb)) {
    out.push({
      path: ['lb'],
      message: `differs from the cluster's lb (${fmtLb(rec.spec)}), set by stack ${rec.stack}`,
      fix: `write the same lb: as stack ${rec.stack}, or remove lb: from this file (the cluster's applies to every stack); to change it, change it in stack ${rec.stack}`,
    });
  }
  const lb = effectiveLb(v.stack, stack, v.lb);
  const names = new Map<string, ServiceRecord>();
  const ports = new Map<number, ServiceRecord>();
  for (const r of v.others) {
    for (const n of r.spec.publish?.http ?? []) names.set(n, r);
    if (r.spec.publish?.tcp !== undefined) ports.set(r.spec.publish.tcp, r);
  }
  const owner = (r: ServiceRecord) => `stack ${r.stack}, service ${r.spec.name}`;
  for (const s of Object.values(stack.services)) {
    (s.publish?.http ?? []).forEach((n, i) => {
      const r = names.get(n);
      if (r) out.push({ path: ['services', s.name, 'publish', 'http', i], message: `${n} is already published by ${owner(r)}`, fix: `${ONE_OWNER}: remove it here, or from stack ${r.stack} first` });
    });
    const tcp = s.publish?.tcp;
    if (tcp === undefined) continue;
    const path = ['services', s.name, 'publish', 'tcp'];
    const r = ports.get(tcp);
    if (r) out.push({ path, message: `port ${tcp} is already published by ${owner(r)}`, fix: `publish the service on another TCP port, or remove it from stack ${r.stack} first` });
    else if (rec && (tcp === lb.http || tcp === lb.https)) {
      const which = tcp === lb.http ? 'http' : 'https';
      out.push({ path, message: `port ${tcp} is the load balancer's ${which} port (lb.${which}, set by stack ${rec.stack})`, fix: 'publish the service on another TCP port' });
    }
  }
  // this file sets the cluster's lb: its ports may not be another stack's TCP port
  if (!rec && stack.lb) {
    for (const which of ['http', 'https'] as const) {
      const r = ports.get(stack.lb[which]);
      if (r) out.push({ path: ['lb', which], message: `port ${stack.lb[which]} is already published as a TCP port by ${owner(r)}`, fix: `give lb.${which} another port` });
    }
  }
  const vip = stack.lb?.vip;
  if (vip !== undefined && !rec) {
    // hosts of an older agent say no network: they are left out; with none left, nothing is checked
    const nets = v.hosts.filter((h) => h.network !== undefined).map((h) => ({ host: h.name, network: h.network! }));
    const taken = v.hosts.find((h) => h.address === vip);
    if (taken) {
      out.push({ path: ['lb', 'vip'], message: `${vip} is the address of host ${taken.name}`, fix: 'choose a free address of the hosts\' network: the floating address moves between hosts and may belong to none of them' });
    } else if (nets.length > 0 && !nets.some((n) => inCidr(n.network, vip))) {
      const list = [...new Set(nets.map((n) => n.network))].sort();
      out.push({
        path: ['lb', 'vip'],
        message: `${vip} is outside every host's network (${list.join(', ')})`,
        fix: `choose a free address in the hosts' network, for example ${exampleIn(list[0]!)}`,
      });
    }
  }
  return out;
}

/** An address near the top of the network, for the fix (10.231.0.0/24 -> 10.231.0.200). */
function exampleIn(cidr: string): string {
  const [base, bits] = cidr.split('/');
  const b = tryParseIPv4(base ?? '') ?? 0;
  const n = Number(bits);
  const size = n >= 32 ? 1 : 2 ** (32 - n);
  const offset = size >= 256 ? 200 : Math.max(0, size - 2);
  return formatIPv4(((b & maskOf(n)) >>> 0) + offset);
}

/** The ports HAProxy listens on for a set of services: lb.http with any virtual host, lb.https with any tls, each TCP port. */
export function publishedPorts(services: readonly { publish?: { http?: string[]; tls?: unknown; tcp?: number } }[], lb: LbSpec): number[] {
  const out = new Set<number>();
  for (const s of services) {
    const p = s.publish;
    if (!p) continue;
    if (p.http?.length) out.add(lb.http);
    if (p.tls) out.add(lb.https);
    if (p.tcp !== undefined) out.add(p.tcp);
  }
  return [...out].sort((a, b) => a - b);
}
