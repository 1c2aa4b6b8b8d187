/**
 * Hosts as `host ls`, `host cordon|drain|uncordon` and `cluster status` see them, over the
 * cluster store. A host's state is the scheduler's rule (cluster/snapshot.ts), not a copy.
 */
import { K } from '../../cluster/keys.js';
import type { HostControl, HostLive } from '../../cluster/model.js';
import { hostState, knownHosts, readHosts } from '../../cluster/snapshot.js';
import type { HostState } from '../../cluster/scheduler-types.js';
import type { Member, Store } from '../../cluster/store.js';
import { NotFoundError, UserError } from '../../sys/errors.js';
import { checkName } from '../../sys/names.js';
import { DEFAULT_DISK } from '../../jail/model.js';
import { DEFAULT_OVERCOMMIT } from '../../cluster/subnets.js';

export interface HostRow {
  name: string;
  address: string;
  state: HostState;
  etcd: HostLive['etcd'] | 'unknown';
  leader: boolean;
  subnet: string;
  replicas: number;
  /** As the agent published it: capacity.diskBytes is the pool's size, before overcommit. */
  capacity: HostLive['capacity'] | null;
  /** What the placed replicas reserve; diskBytes: the sum of their disk limits (allocated). */
  usage: { memoryBytes: number; cpus: number; diskBytes: number };
  /** Free bytes of the host's pool (its file system's word); null when unknown. */
  diskFreeBytes: number | null;
  /** The cluster's disk overcommit ratio: the scheduler offers capacity.diskBytes times it. */
  overcommit: number;
}

export type HostAction = 'cordon' | 'drain' | 'uncordon';
export const HOST_ACTIONS: readonly HostAction[] = ['cordon', 'drain', 'uncordon'];

export interface MemberRow { name: string; peerURLs: string[]; clientURLs: string[]; learner: boolean }

export interface ClusterSummary {
  clusterId: string | null;
  name: string;
  role: 'single' | 'member' | 'client';
  address: string | null;
  apiPort: number | null;
}

export interface ClusterStatus extends ClusterSummary {
  leader: string | null;
  members: MemberRow[];
  hosts: HostRow[];
}

export class HostService {
  constructor(private readonly store: Store, private readonly now: () => Date = () => new Date()) {}

  async rows(): Promise<HostRow[]> {
    return (await this.read()).hosts;
  }

  private async read(): Promise<{ hosts: HostRow[]; leader: string | null }> {
    const s = await readHosts(this.store);
    const hosts = knownHosts(s).map((name): HostRow => {
      const l = s.live.get(name);
      const i = s.info.get(name);
      const as = s.placements.get(name)?.assignments ?? [];
      return {
        name,
        address: l?.address ?? i?.address ?? '',
        state: hostState(s, name),
        etcd: l?.etcd ?? 'unknown',
        leader: s.leader === name,
        subnet: l?.subnet ?? i?.subnet ?? '',
        replicas: as.length,
        capacity: l?.capacity ?? null,
        usage: {
          memoryBytes: as.reduce((n, x) => n + (x.spec.memoryBytes ?? 0), 0), cpus: as.reduce((n, x) => n + (x.spec.cpus ?? 0), 0),
          diskBytes: as.reduce((n, x) => n + (x.spec.diskBytes ?? DEFAULT_DISK), 0),
        },
        diskFreeBytes: l?.diskFreeBytes ?? null,
        overcommit: s.settings?.overcommit ?? DEFAULT_OVERCOMMIT,
      };
    });
    return { hosts, leader: s.leader };
  }

  async control(host: string, action: string): Promise<{ host: string; state: Exclude<HostState, 'down'> }> {
    const name = checkName('host', host);
    if (!HOST_ACTIONS.includes(action as HostAction)) throw new UserError(`no host action ${JSON.stringify(action)}`, `use ${HOST_ACTIONS.join(', ')}`);
    const known = (await this.store.get(K.hostInfo(name))) ?? (await this.store.get(K.hostLive(name)));
    if (!known) throw new NotFoundError(`no host named ${name} in this cluster`, 'see the names with: cellblock host ls');
    if (action === 'uncordon') {
      await this.store.delete(K.hostCtl(name));
      return { host: name, state: 'ready' };
    }
    const rec: HostControl = { state: action === 'cordon' ? 'cordoned' : 'draining', at: this.now().toISOString() };
    await this.store.putJson(K.hostCtl(name), rec);
    return { host: name, state: rec.state };
  }

  /** `cluster status`: this host's summary, etcd's members (fast read) and every host. */
  async clusterStatus(summary: ClusterSummary): Promise<ClusterStatus> {
    const [members, view] = await Promise.all([
      // a member list needs the raft leader; without one, status still shows the hosts
      this.store.members({ fast: true }).catch((): Member[] => []),
      this.read(),
    ]);
    return {
      ...summary,
      leader: view.leader,
      members: members.map((m) => ({ name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, learner: m.learner })).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
      hosts: view.hosts,
    };
  }
}
