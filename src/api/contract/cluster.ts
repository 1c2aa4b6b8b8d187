/** The cluster and host routes, and the join listener's request and answer (port 7481). */
import { z } from 'zod';
import { name, noBody, noQuery, port, route } from './define.js';

export const clusterSummary = z.object({
  clusterId: z.string().nullable(),
  name: z.string(),
  role: z.enum(['single', 'member', 'client']),
  address: z.string().nullable(),
  apiPort: z.number().nullable(),
});
export type ClusterSummary = z.infer<typeof clusterSummary>;

const capacity = z.object({ memoryBytes: z.number(), cpus: z.number(), jails: z.number(), diskBytes: z.number().optional() });

export const hostRow = z.object({
  name: z.string(),
  address: z.string(),
  state: z.enum(['ready', 'cordoned', 'draining', 'down']),
  etcd: z.enum(['member', 'client', 'single', 'unknown']),
  leader: z.boolean(),
  subnet: z.string(),
  replicas: z.number(),
  capacity: capacity.nullable(),
  usage: z.object({ memoryBytes: z.number(), cpus: z.number(), diskBytes: z.number() }),
  diskFreeBytes: z.number().nullable(),
  overcommit: z.number(),
});
export type HostRow = z.infer<typeof hostRow>;

export const etcdMember = z.object({ name: z.string(), peerURLs: z.array(z.string()), clientURLs: z.array(z.string()), learner: z.boolean() });

export const clusterStatus = clusterSummary.extend({ leader: z.string().nullable(), members: z.array(etcdMember), hosts: z.array(hostRow) });
export type ClusterStatus = z.infer<typeof clusterStatus>;

export const initRequest = z.strictObject({ advertise: z.string().optional(), name: z.string().optional(), apiPort: port.optional(), joinPort: port.optional(), range: z.string().optional(), overcommit: z.string().optional(), defaultDisk: z.string().optional() });
export type InitRequest = z.infer<typeof initRequest>;
export const joinRequest = z.strictObject({ address: z.string(), token: z.string(), advertise: z.string().optional(), name: z.string().optional(), joinPort: port.optional(), apiPort: port.optional(), subnet: z.string().optional() });
export type JoinRequest = z.infer<typeof joinRequest>;
export const tokenReply = z.object({ token: z.string(), expiresAt: z.string() });
export type TokenReply = z.infer<typeof tokenReply>;
export const removeReply = z.object({ removed: z.string(), wasMember: z.boolean() });
export type RemoveReply = z.infer<typeof removeReply>;

export const hostState = z.object({ host: z.string(), state: z.enum(['ready', 'cordoned', 'draining']) });
export type HostStateReply = z.infer<typeof hostState>;
export type HostAction = 'cordon' | 'drain' | 'uncordon';

const host = { name: name('host') };
const control = (action: HostAction, doc: string) =>
  route({ method: 'POST', path: `/v1/hosts/:name/${action}`, params: host, query: noQuery, body: noBody, reply: hostState, doc });

export const CLUSTER_ROUTES = {
  clusterStatus: route({ method: 'GET', path: '/v1/cluster', params: {}, query: noQuery, body: null, reply: clusterStatus, doc: '`{clusterId, name, role, address, apiPort, leader, members, hosts}`' }),
  clusterInit: route({ method: 'POST', path: '/v1/cluster/init', params: {}, query: noQuery, body: initRequest, reply: clusterSummary, doc: '`{advertise?, name?, apiPort?, joinPort?, range?, overcommit?, defaultDisk?}` -> `ClusterSummary`' }),
  clusterJoin: route({ method: 'POST', path: '/v1/cluster/join', params: {}, query: noQuery, body: joinRequest, reply: clusterSummary.extend({ members: z.number() }), doc: '`{address, token, advertise?, name?, joinPort?, apiPort?, subnet?}` -> `ClusterSummary` and `members`' }),
  clusterLeave: route({ method: 'POST', path: '/v1/cluster/leave', params: {}, query: noQuery, body: noBody, reply: clusterSummary, doc: '`{}` -> `ClusterSummary`' }),
  clusterToken: route({ method: 'POST', path: '/v1/cluster/token', params: {}, query: noQuery, body: z.strictObject({ ttlSeconds: z.number().int().min(1).optional() }), reply: tokenReply, doc: '`{ttlSeconds?}` -> `{token, expiresAt}`' }),
  clusterRemove: route({ method: 'POST', path: '/v1/cluster/remove', params: {}, query: noQuery, body: z.strictObject({ host: z.string(), force: z.boolean().optional() }), reply: removeReply, doc: '`{host, force?}` -> `{removed, wasMember}`' }),
  hostList: route({ method: 'GET', path: '/v1/hosts', params: {}, query: noQuery, body: null, reply: z.array(hostRow), doc: '`HostRow[]`' }),
  hostCordon: control('cordon', '`{}` -> `{host, state}`: place nothing new there'),
  hostDrain: control('drain', '`{}` -> `{host, state}`: move its replicas away'),
  hostUncordon: control('uncordon', '`{}` -> `{host, state}`: ready again'),
};

/** POST /v1/join on the join listener (not the API): token-authenticated, no client certificate. */
export const joinListenerRequest = z.strictObject({
  token: z.string(), name: z.string(), address: z.string(),
  /** The jail subnet the host keeps (it has jails, or asked for one); absent: the cluster hands one out. */
  subnet: z.string().optional(),
  csr: z.string().max(16 * 1024),
});
export const joinListenerReply = z.object({
  clusterId: z.string(),
  ca: z.string(),
  cert: z.string(),
  caKey: z.string().nullable(),
  role: z.enum(['member', 'client']),
  initialCluster: z.string().nullable(),
  memberId: z.string().nullable(),
  /** The joining host's jail subnet: the one it asked for, or the next free one of the cluster range. */
  subnet: z.string(),
  endpoints: z.array(z.string()),
});
export type JoinListenerReply = z.infer<typeof joinListenerReply>;
