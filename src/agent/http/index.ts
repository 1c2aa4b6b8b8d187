/** Every cluster route's handler, from the services they call (services.ts). */
import type { ClusterHandlers } from '../../api/handlers.js';
import { clusterHandlers } from './cluster.js';
import { imageHandlers } from './images.js';
import type { ClusterServices } from './services.js';
import { stackHandlers } from './stacks.js';

export type { ClusterServices, ClusterApi, HostApi, ImageApi, LbApi, PushProgress, StackApi } from './services.js';

export function clusterRouteHandlers(s: ClusterServices): ClusterHandlers {
  return { ...clusterHandlers(s.cluster, s.hosts), ...stackHandlers(s.stacks), ...imageHandlers(s.images), lbStatus: () => s.lb.status() };
}
