/** In-memory cluster services (src/agent/http/services.ts) that record each call and answer valid replies. */
import type { ServerResponse } from 'node:http';
import type { ClusterServices } from '../../src/agent/http/services.js';
import type { ClusterSummary, HostRow, PullResult, RolloutView, ServiceStatus } from '../../src/api/contract.js';
import type { Stack } from '../../src/spec/types.js';
import type { ImageRef } from '../../src/sys/names.js';

export interface FakeCluster extends ClusterServices {
  calls: { method: string; args: unknown[] }[];
}

const SUMMARY: ClusterSummary = { clusterId: 'c1', name: 'h0', role: 'member', address: '192.0.2.10', apiPort: 7480 };
export const HOST: HostRow = {
  name: 'h0', address: '192.0.2.10', state: 'ready', etcd: 'member', leader: true, subnet: '10.77.0.0/24', replicas: 1,
  capacity: { memoryBytes: 1 << 30, cpus: 2, jails: 250, diskBytes: 10 * 2 ** 30 }, usage: { memoryBytes: 0, cpus: 0, diskBytes: 2 ** 30 }, diskFreeBytes: 8 * 2 ** 30, overcommit: 1,
};
export const STATUS: ServiceStatus = {
  stack: 'stack', service: 'site', image: 'site:v1', replicas: 1, specHash: 'abc', ready: 1,
  instances: [{ replica: 0, host: 'h0', current: true, phase: 'running', healthy: true, ip: '10.77.0.2', message: null }],
};
export const ROLLOUT: RolloutView = {
  stack: 'stack', service: 'site', state: 'progressing', from: { specHash: 'aaaa', image: 'site:v1' }, to: { specHash: 'bbbb', image: 'site:v2' },
  startedAt: '2030-01-01T00:00:00Z', endedAt: null, reason: null, replicas: [], events: [], history: [], current: null, now: '2030-01-01T00:00:01Z',
};
const pulled = (ref: ImageRef): PullResult => ({ image: `${ref.name}:${ref.tag}`, from: 'h1', since: null, bytes: 10, seconds: 0.1 });

export function fakeCluster(): FakeCluster {
  const calls: FakeCluster['calls'] = [];
  const rec = (method: string, ...args: unknown[]) => { calls.push({ method, args }); };
  return {
    calls,
    cluster: {
      async status() { rec('cluster.status'); return { ...SUMMARY, leader: 'h0', members: [], hosts: [HOST] }; },
      async init(o) { rec('cluster.init', o); return SUMMARY; },
      async join(o) { rec('cluster.join', o); return { ...SUMMARY, members: 3 }; },
      async leave() { rec('cluster.leave'); return { ...SUMMARY, clusterId: null, role: 'single' }; },
      async remove(host, o) { rec('cluster.remove', host, o); return { removed: host, wasMember: false }; },
      async token(ttl) { rec('cluster.token', ttl); return { token: 'T', expiresAt: '2030-01-01T00:00:00Z' }; },
    },
    hosts: {
      async rows() { rec('hosts.rows'); return [HOST]; },
      async control(host, action) { rec('hosts.control', host, action); return { host, state: action === 'cordon' ? 'cordoned' : action === 'drain' ? 'draining' : 'ready' }; },
    },
    stacks: {
      async apply(name: string, file: string, stack: Stack) { rec('stacks.apply', name, file, stack); return { stack: name, diff: [], revision: '7', services: [] }; },
      async diff(name: string, stack: Stack) { rec('stacks.diff', name, stack); return [{ service: 'site', change: 'add', details: [] }]; },
      async remove(name: string) { rec('stacks.remove', name); return { stack: name, removed: ['site'] }; },
      async status(stack?: string) { rec('stacks.status', stack); return [STATUS]; },
      async portsHere(ports: number[]) { rec('stacks.portsHere', ports); return { host: HOST.name, inUse: ports.slice(0, 1).map((port) => ({ port, process: 'nginx' })) }; },
    },
    rollouts: {
      async list(q) { rec('rollouts.list', q); return [ROLLOUT]; },
      async undo(service) { rec('rollouts.undo', service); return { ...ROLLOUT, state: 'undone' }; },
    },
    lb: {
      async status() { rec('lb.status'); return { http: 80, https: 443, vip: null, stack: null, hosts: [] }; },
    },
    images: {
      async serve(ref: ImageRef, have: string[], res: ServerResponse) {
        rec('images.serve', ref, have);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end('IMAGE');
      },
      async pull(ref) { rec('images.pull', ref); return pulled(ref); },
      async push(ref, on = {}) {
        rec('images.push', ref);
        on.onTargets?.(['h1']);
        const h = { ...pulled(ref), host: 'h1', error: null };
        on.onHost?.(h);
        return { image: `${ref.name}:${ref.tag}`, hosts: [h] };
      },
    },
  };
}
