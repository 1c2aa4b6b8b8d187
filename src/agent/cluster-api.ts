/**
 * The cluster routes for the daemon: their handlers (http/) over the services of the current
 * runtime and the cluster operations (cluster-services.ts). The routes themselves are declared
 * in src/api/contract.
 */
import type { ClusterHandlers } from '../api/handlers.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterOps } from './cluster-ops.js';
import { clusterServices } from './cluster-services.js';
import { clusterRouteHandlers } from './http/index.js';

export interface ClusterRouteDeps {
  runtime: () => ClusterRuntime;
  ops: ClusterOps;
}

export function clusterRoutes(d: ClusterRouteDeps): ClusterHandlers {
  return clusterRouteHandlers(clusterServices(d.runtime, d.ops));
}
