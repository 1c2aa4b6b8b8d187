/**
 * The load balancer's part of `apply` and `delete`, pure: which ports to ask the hosts about,
 * how a port in use is reported, and the writes of the `lb` record and the certificates that
 * go into the same transaction as the stack's services (agent/services/stacks.ts).
 */
import { K } from '../cluster/keys.js';
import type { ServiceRecord } from '../cluster/model.js';
import type { TxnWrite } from '../cluster/store.js';
import type { LbSpec, ServiceSpec, Stack } from '../spec/types.js';
import { LB_DEFAULTS } from '../spec/types.js';
import { publishedPorts, sameLb, type ClaimProblem } from './claims.js';
import type { CertRecord, LbRecord } from './model.js';

/** A port some program listens on, on one host. */
export interface HostPortInUse { host: string; port: number; process?: string }

/**
 * The ports the cluster's load balancer would listen on after the apply and does not already:
 * only those can meet another program (the ones it holds now are HAProxy's own).
 */
export function portsToProbe(before: { services: readonly ServiceSpec[]; lb: LbSpec }, after: { services: readonly ServiceSpec[]; lb: LbSpec }): number[] {
  const now = new Set(publishedPorts(before.services, before.lb));
  return publishedPorts(after.services, after.lb).filter((p) => !now.has(p));
}

/** Each port in use, reported at the field of the file that publishes it (lb.http, lb.https or a service's publish.tcp). */
export function portProblems(stack: Stack, lb: LbSpec, inUse: readonly HostPortInUse[]): ClaimProblem[] {
  const byPort = new Map<number, HostPortInUse[]>();
  for (const u of inUse) byPort.set(u.port, [...(byPort.get(u.port) ?? []), u]);
  const services = Object.values(stack.services);
  const out: ClaimProblem[] = [];
  for (const [port, hosts] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const where = hosts.map((h) => `${h.host}${h.process ? ` (${h.process})` : ''}`).join(', ');
    const tcp = services.find((s) => s.publish?.tcp === port);
    const which = port === lb.http ? 'http' : port === lb.https ? 'https' : undefined;
    let path: PropertyKey[];
    let field: string;
    if (tcp) [path, field] = [['services', tcp.name, 'publish', 'tcp'], `services.${tcp.name}.publish.tcp`];
    else if (which && stack.lb) [path, field] = [['lb', which], `lb.${which}`];
    else {
      // the default port (no lb: in the file), or the cluster's: shown at the first service it serves
      const s = services.find((x) => (which === 'https' ? x.publish?.tls : x.publish?.http)) ?? services[0]!;
      [path, field] = [['services', s.name, 'publish', ...(which === 'https' ? ['tls'] : ['http'])], `lb.${which ?? 'http'}`];
    }
    out.push({
      path,
      message: `port ${port} is already in use on ${where}`,
      fix: `stop that program or move it to another port, or choose another port for ${field}${field.startsWith('lb.') && !stack.lb ? ' (add lb: { http: 8080, https: 8443 } to the file that sets the cluster\'s lb)' : ''}`,
    });
  }
  return out;
}

/**
 * The lb record and certificate writes of applying `stack` as `name`: the first stack with
 * `lb:` writes the record, its owner may change it or (by dropping `lb:`) delete it; each
 * service with tls gets its CertRecord; certificates of services that lost tls or are gone
 * are deleted.
 */
export function lbWrites(name: string, stack: Stack, rec: LbRecord | undefined, certs: ReadonlyMap<string, CertRecord>, current: readonly ServiceRecord[], at: string): TxnWrite[] {
  const writes: TxnWrite[] = [];
  const owner = !rec || rec.stack === name;
  if (owner && stack.lb && !(rec && sameLb(rec.spec, stack.lb))) {
    const value: LbRecord = { spec: stack.lb, stack: name, at };
    writes.push({ put: K.lb, value: JSON.stringify(value) });
  } else if (rec && rec.stack === name && !stack.lb) {
    writes.push({ delete: K.lb });
  }
  for (const [svc, c] of certs) writes.push({ put: K.cert(name, svc), value: JSON.stringify(c) });
  for (const r of current) if (r.spec.publish?.tls && !certs.has(r.spec.name)) writes.push({ delete: K.cert(name, r.spec.name) });
  return writes;
}

/** The lb record and certificate deletes of deleting stack `name`. */
export function lbDeletes(name: string, rec: LbRecord | undefined, current: readonly ServiceRecord[]): TxnWrite[] {
  return [
    ...(rec && rec.stack === name ? [{ delete: K.lb }] : []),
    ...current.filter((r) => r.spec.publish?.tls).map((r) => ({ delete: K.cert(name, r.spec.name) })),
  ];
}

/** The lb in force before an apply: the record, else the defaults. */
export const lbOf = (rec: LbRecord | undefined): LbSpec => rec?.spec ?? { ...LB_DEFAULTS };
