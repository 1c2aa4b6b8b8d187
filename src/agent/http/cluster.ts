/** The cluster and host routes' handlers. */
import type { ClusterHandlers } from '../../api/handlers.js';
import type { ClusterApi, HostApi } from './services.js';

type Routes = Pick<ClusterHandlers, 'clusterStatus' | 'clusterInit' | 'clusterJoin' | 'clusterLeave' | 'clusterToken' | 'clusterRemove' | 'hostList' | 'hostCordon' | 'hostDrain' | 'hostUncordon'>;

export function clusterHandlers(cluster: ClusterApi, hosts: HostApi): Routes {
  return {
    clusterStatus: () => cluster.status(),
    clusterInit: ({ body }) => cluster.init(body),
    clusterJoin: ({ body }) => cluster.join(body),
    clusterLeave: () => cluster.leave(),
    clusterToken: ({ body }) => cluster.token(body.ttlSeconds),
    clusterRemove: ({ body }) => cluster.remove(body.host, { force: body.force ?? false }),
    hostList: () => hosts.rows(),
    hostCordon: ({ params }) => hosts.control(params.name, 'cordon'),
    hostDrain: ({ params }) => hosts.control(params.name, 'drain'),
    hostUncordon: ({ params }) => hosts.control(params.name, 'uncordon'),
  };
}
