/**
 * Cross-host jail networking: every host routes the other hosts' jail subnets through their
 * host addresses, so a jail reaches a jail on another host by its IP. Routes are marked with
 * their own protocol number (ROUTE_PROTO) so that the ones cellblock made can be listed and
 * removed exactly, leaving every other route alone.
 */
import type { Logger } from 'pino';
import type { Exec } from '../sys/exec.js';
import type { HostInfo } from '../cluster/model.js';
import { logged } from '../sys/log.js';

/** The rtnetlink protocol number of cellblock's routes (unassigned by iproute2's rt_protos). */
export const ROUTE_PROTO = '77';

export interface Route { subnet: string; via: string }

/** The routes this host wants: every other known host's subnet via its address. */
export function wantedRoutes(self: string, hosts: readonly HostInfo[]): Route[] {
  return hosts.filter((h) => h.name !== self && h.subnet && h.address).map((h) => ({ subnet: h.subnet, via: h.address })).sort((a, b) => (a.subnet < b.subnet ? -1 : a.subnet > b.subnet ? 1 : 0));
}

export const routeReplaceArgv = (r: Route): string[] => ['ip', 'route', 'replace', r.subnet, 'via', r.via, 'proto', ROUTE_PROTO];
export const routeDelArgv = (subnet: string): string[] => ['ip', 'route', 'del', subnet, 'proto', ROUTE_PROTO];
export const routeListArgv = (): string[] => ['ip', '-j', 'route', 'show', 'proto', ROUTE_PROTO];

/** Parses `ip -j route show` output into routes (only those with a gateway). */
export function parseRoutes(json: string): Route[] {
  const rows = JSON.parse(json || '[]') as { dst?: string; gateway?: string }[];
  return rows.filter((r) => r.dst && r.gateway).map((r) => ({ subnet: r.dst!, via: r.gateway! }));
}

/** What to change: replace the wanted routes that differ, delete ours that are not wanted. */
export function routeChanges(have: readonly Route[], want: readonly Route[]): { replace: Route[]; remove: string[] } {
  const haveBy = new Map(have.map((r) => [r.subnet, r.via]));
  const wantBy = new Set(want.map((r) => r.subnet));
  return {
    replace: want.filter((r) => haveBy.get(r.subnet) !== r.via),
    remove: [...haveBy.keys()].filter((s) => !wantBy.has(s)).sort(),
  };
}

export class RouteSync {
  private forwarding = false;
  constructor(private readonly exec: Exec, private readonly log: Logger) {}

  async sync(self: string, hosts: readonly HostInfo[]): Promise<void> {
    // a host forwards traffic between its jails' bridge and the other hosts (per network
    // namespace; set only once there are other hosts, so a single host changes nothing)
    if (hosts.some((h) => h.name !== self) && !this.forwarding) {
      await this.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      this.forwarding = true;
    }
    const have = parseRoutes((await this.exec(routeListArgv())).stdout);
    const { replace, remove } = routeChanges(have, wantedRoutes(self, hosts));
    for (const r of replace) {
      await this.exec(routeReplaceArgv(r));
      this.log.info({ subnet: r.subnet, via: r.via }, 'route to another host\'s jails');
    }
    for (const s of remove) await this.exec(routeDelArgv(s)).catch(logged(this.log, 'removing a route to a host that left failed; the next sync tries again', 'warn', { subnet: s }));
  }

  /** Removes every route cellblock made (leaving a cluster). */
  async clear(): Promise<void> {
    await this.sync('', []);
  }
}
