/** Builders of cluster records for the LB's unit tests. */
import type { Assignment, HostPlacements, ObservedReplica, ServiceRecord } from '../../src/cluster/model.js';
import { DEPLOY_DEFAULTS, type PublishSpec, type ServiceSpec } from '../../src/spec/types.js';

export function service(stack: string, name: string, publish: PublishSpec | undefined, extra: Partial<ServiceSpec> = {}): ServiceRecord {
  const spec: ServiceSpec = {
    name, image: { name: 'web', tag: 'v1' }, replicas: 3, command: [], env: {}, pids: 100, rw: [], restart: 'always',
    user: { uid: 0, gid: 0 }, port: 8080, deploy: DEPLOY_DEFAULTS, ...(publish ? { publish } : {}), ...extra,
  };
  return { stack, spec, specHash: 'h1' };
}

export function placements(rows: [host: string, stack: string, service: string, replica: number, drain?: boolean][]): Map<string, HostPlacements> {
  const out = new Map<string, HostPlacements>();
  for (const [host, stack, svc, replica, drain] of rows) {
    const p = out.get(host) ?? { host, assignments: [], by: 'h0', at: '' };
    const a = { stack, service: svc, replica, jail: `${stack}.${svc}.${replica}`, specHash: 'h1', ...(drain ? { drain: true } : {}) } as Assignment;
    p.assignments.push(a);
    out.set(host, p);
  }
  return out;
}

export function observed(host: string, jail: string, ip: string | null, phase: ObservedReplica['phase'] = 'running'): ObservedReplica {
  const [stack, service, replica] = jail.split('.');
  return { host, jail, stack: stack!, service: service!, replica: Number(replica), specHash: 'h1', phase, healthy: true, ip, message: null, at: '' };
}
