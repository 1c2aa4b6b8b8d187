/**
 * The cluster routes' services (http/services.ts) over the current runtime and the cluster
 * operations: a thin adapter. Each call asks for the runtime anew, so a request made while
 * the runtime is being replaced gets UnavailableError (503) rather than a stopped part.
 */
import { formatImageRef } from '../sys/names.js';
import { readLbStatus } from '../lb/status.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterOps } from './cluster-ops.js';
import type { ClusterServices } from './http/services.js';

export function clusterServices(rt: () => ClusterRuntime, ops: ClusterOps): ClusterServices {
  return {
    stacks: {
      apply: (name, file, stack, text, files) => rt().stacks.apply(name, file, stack, text, files),
      diff: (name, stack, src) => rt().stacks.diff(name, stack, src),
      portsHere: (ports) => rt().stacks.portsHere(ports),
      remove: (name) => rt().stacks.remove(name),
      status: (stack) => rt().stacks.status(stack),
    },
    hosts: {
      rows: () => rt().hosts.rows(),
      control: (host, action) => rt().hosts.control(host, action),
    },
    cluster: {
      status: () => ops.status(),
      init: (o) => ops.init(o),
      join: (o) => ops.join(o),
      leave: () => ops.leave(),
      remove: (host, o) => ops.remove(host, o),
      token: (ttlSeconds) => ops.token(ttlSeconds),
    },
    rollouts: {
      list: (q) => rt().rollouts.list(q),
      undo: (service) => rt().rollouts.undo(service),
    },
    images: {
      serve: (ref, have, res) => rt().images.serve(ref, have, res),
      pull: (ref) => rt().images.pull(formatImageRef(ref)),
      push: (ref, on) => rt().images.push(formatImageRef(ref), on),
    },
    lb: {
      status: () => readLbStatus(rt().store),
    },
  };
}
