/**
 * What `cellblock lb status` and the LB figures of `cellblock status` show: the `lb:` settings
 * in force and every known host's lbstate record (a host without one: unknown).
 */
import { K } from '../cluster/keys.js';
import type { HostInfo, HostLive } from '../cluster/model.js';
import type { Store } from '../cluster/store.js';
import type { LbHostRow, LbStatus } from '../api/contract/lb.js';
import { LB_DEFAULTS } from '../spec/types.js';
import type { LbHostState, LbRecord } from './model.js';

export async function readLbStatus(store: Store): Promise<LbStatus> {
  const [lb, states, info, live] = await Promise.all([
    store.getJson<LbRecord>(K.lb), store.mapJson<LbHostState>(K.lbStates), store.mapJson<HostInfo>(K.hostsInfo), store.mapJson<HostLive>(K.hostsLive),
  ]);
  return lbStatusOf(lb, states, [...new Set([...info.keys(), ...live.keys(), ...states.keys()])].sort(), new Set(live.keys()));
}

/** Pure: the reply from the records. */
export function lbStatusOf(lb: LbRecord | undefined, states: ReadonlyMap<string, LbHostState>, hosts: readonly string[], live: ReadonlySet<string>): LbStatus {
  const rows = hosts.map((h): LbHostRow => {
    const s = states.get(h);
    if (!s) return { host: h, haproxy: 'unknown', message: live.has(h) ? 'no lbstate record yet' : 'host down', backends: [], vipHeld: false, at: null };
    return { host: h, haproxy: s.haproxy, message: s.message, backends: s.backends, vipHeld: s.vipHeld, at: s.at };
  });
  const spec = lb?.spec ?? LB_DEFAULTS;
  return { http: spec.http, https: spec.https, vip: lb?.spec.vip ?? null, stack: lb?.stack ?? null, hosts: rows };
}

/**
 * One service's figures over every host: "in rotation 3/3 on h0 h1 h2, 1234 requests, 0 errors"
 * (requests and errors summed over the hosts' HAProxies); undefined when no host has its backend.
 */
export function lbFigures(st: LbStatus, backend: string): string | undefined {
  const hosts = st.hosts.filter((h) => h.haproxy === 'running' && h.backends.some((b) => b.backend === backend));
  if (hosts.length === 0) return undefined;
  let requests = 0;
  let errors = 0;
  const servers = new Set<string>();
  const inAll = new Map<string, number>();
  for (const h of hosts) {
    for (const s of h.backends.find((b) => b.backend === backend)!.servers) {
      servers.add(s.jail);
      requests += s.requests;
      errors += s.errors;
      if (s.inRotation) inAll.set(s.jail, (inAll.get(s.jail) ?? 0) + 1);
    }
  }
  const everywhere = [...inAll.values()].filter((n) => n === hosts.length).length;
  return `in rotation ${everywhere}/${servers.size} on ${hosts.map((h) => h.host).join(' ')}, ${requests} requests, ${errors} errors`;
}
