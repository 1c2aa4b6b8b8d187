/**
 * The cluster routes for the daemon: their handlers (http/) over today's runtime (cluster-services.ts).
 * Kept so daemon.ts composes as before; the routes themselves are declared in src/api/contract.
 */
import type { ClusterHandlers } from '../api/handlers.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterOps } from './cluster-ops.js';
import { clusterServices } from './cluster-services.js';
import { clusterRouteHandlers } from './http/index.js';

export function clusterRoutes(rt: ClusterRuntime, ops: ClusterOps): ClusterHandlers {
  return clusterRouteHandlers(clusterServices(rt, ops));
}
