/**
 * The one key layout of the cluster state in etcd. Everything cellblock keeps there is under
 * KEY_PREFIX; the Store works in that namespace, so the names below are relative to it
 * ('hosts/a' is '/cellblock/hosts/a'). Every name is checked before it becomes a key, as
 * before it becomes a path: a key builder never makes a key of a name with '/' in it.
 *
 *   hosts/<host>                    HostLive        on the host's lease: exists = alive
 *   hostinfo/<host>                 HostInfo        no lease: the cluster knows the host while it is down
 *   hostctl/<host>                  HostControl     cordoned | draining, set by `host cordon|drain`
 *   subnets/<a.b.c.d>               host name       one jail subnet per host
 *   stacks/<stack>                  StackRecord     what `apply` wrote (its services by name)
 *   services/<stack>/<service>      ServiceRecord   the desired service (normalized spec + hash)
 *   placements/<host>               HostPlacements  written by the leader only (guarded)
 *   observed/<host>/<jail>          ObservedReplica written by the host's agent, on its lease
 *   images/<name>/<tag>/<host>      ImageHolder     the host holds that image (on its lease)
 *   tokens/<id>                     JoinToken       single-use join tokens (etcd lease = expiry)
 *   removed/<host>                  {at}            taken out by `cluster remove`: may not come back
 *   config                          ClusterSettings cluster-wide settings (the jail range)
 *   lb                              LbRecord        the cluster's `lb:` settings and the stack that set them
 *   certs/<stack>/<service>         CertRecord      a published service's certificate and key (secret)
 *   lbstate/<host>                  LbHostState     that host's HAProxy rotation and figures, on its lease
 *   rollouts/<stack>/<service>      RolloutRecord   the service's current or last rollout, and its history
 *   leader                          the leader's name, on its lease (election.ts)
 *
 * (Record types: model.ts; the load balancer's: lb/model.ts.)
 */
import { UserError } from '../sys/errors.js';
import { checkName, NAME_RE } from '../sys/names.js';

export const KEY_PREFIX = '/cellblock/';

/** The leader: the name of the agent that may write placements, attached to its lease. */
export const LEADER_KEY = 'leader';

const host = (h: string) => checkName('host', h);

/** A key segment of a kind names.ts has no checker for (stack, subnet, token id). */
function segment(kind: string, v: string): string {
  if (!NAME_RE.test(v) || v.includes('..')) throw new UserError(`invalid ${kind} ${JSON.stringify(v)} for a cluster key`, 'use lowercase letters, digits, ".", "_" or "-", starting with a letter or digit');
  return v;
}
const stack = (s: string) => segment('stack name', s);

export const K = {
  hostLive: (h: string) => `hosts/${host(h)}`,
  hostsLive: 'hosts/',
  hostInfo: (h: string) => `hostinfo/${host(h)}`,
  hostsInfo: 'hostinfo/',
  hostCtl: (h: string) => `hostctl/${host(h)}`,
  hostsCtl: 'hostctl/',
  subnet: (net: string) => `subnets/${segment('subnet', net)}`,
  subnets: 'subnets/',
  stack: (s: string) => `stacks/${stack(s)}`,
  stacks: 'stacks/',
  service: (s: string, svc: string) => `services/${stack(s)}/${checkName('service', svc)}`,
  servicesOf: (s: string) => `services/${stack(s)}/`,
  services: 'services/',
  placement: (h: string) => `placements/${host(h)}`,
  placements: 'placements/',
  observed: (h: string, jail: string) => `observed/${host(h)}/${checkName('jail', jail)}`,
  observedOf: (h: string) => `observed/${host(h)}/`,
  observedAll: 'observed/',
  imageHolder: (name: string, tag: string, h: string) => `images/${checkName('image', name)}/${checkName('tag', tag)}/${host(h)}`,
  imageHolders: (name: string, tag: string) => `images/${checkName('image', name)}/${checkName('tag', tag)}/`,
  images: 'images/',
  token: (id: string) => `tokens/${segment('token id', id)}`,
  removed: (h: string) => `removed/${host(h)}`,
  settings: 'config',
  lb: 'lb',
  cert: (s: string, svc: string) => `certs/${stack(s)}/${checkName('service', svc)}`,
  certs: 'certs/',
  lbState: (h: string) => `lbstate/${host(h)}`,
  lbStates: 'lbstate/',
  rollout: (s: string, svc: string) => `rollouts/${stack(s)}/${checkName('service', svc)}`,
  rollouts: 'rollouts/',
  leader: LEADER_KEY,
} as const;

/** The host name of a key under K.hostsLive, or undefined for any other key. */
export function hostOfKey(key: string): string | undefined {
  if (!key.startsWith(K.hostsLive)) return undefined;
  const name = key.slice(K.hostsLive.length);
  return name !== '' && !name.includes('/') ? name : undefined;
}

/** The last segment of a key (the host name of hosts/NAME, placements/NAME, ...). */
export function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** The absolute etcd key of a key relative to KEY_PREFIX (for etcdctl and messages). */
export function absoluteKey(key: string): string {
  return KEY_PREFIX + key;
}
