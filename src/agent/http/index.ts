/** Every cluster route's handler, from the services they call (services.ts). */
import type { ClusterHandlers } from '../../api/handlers.js';
import { clusterHandlers } from './cluster.js';
import { imageHandlers } from './images.js';
import type { ClusterServices } from './services.js';
import { stackHandlers } from './stacks.js';
import { rolloutHandlers } from './rollouts.js';

export type { ClusterServices, ClusterApi, HostApi, ImageApi, LbApi, PushProgress, RolloutApi, StackApi } from './services.js';

export function clusterRouteHandlers(s: ClusterServices): ClusterHandlers {
  return { ...clusterHandlers(s.cluster, s.hosts), ...stackHandlers(s.stacks), ...imageHandlers(s.images), ...rolloutHandlers(s.rollouts), lbStatus: () => s.lb.status() };
}
