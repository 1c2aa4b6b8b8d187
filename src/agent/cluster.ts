/**
 * This host's cluster side as the API sees it: the current ClusterRuntime, replaced as a
 * whole by `cluster init|join|leave` (cluster-ops.ts). While no runtime runs (it is starting,
 * or the host is changing clusters), a request that needs one gets UnavailableError (503,
 * "try again in a few seconds"). Routes call the services here, never the runtime's fields.
 */
import type { Logger } from 'pino';
import { UnavailableError } from '../sys/errors.js';
import { startRuntime, type ClusterRuntime, type RuntimeDeps } from './cluster-runtime.js';

export class Cluster {
  private rt: ClusterRuntime | undefined;

  constructor(private readonly deps: RuntimeDeps, private readonly start_: (d: RuntimeDeps) => Promise<ClusterRuntime> = startRuntime) {}

  get log(): Logger {
    return this.deps.log;
  }

  /** The running runtime, or UnavailableError while there is none. */
  current(): ClusterRuntime {
    if (!this.rt) throw new UnavailableError('the agent is not connected to the cluster state right now (etcd is starting or the host is changing clusters)', 'try again in a few seconds; see the agent log if it persists');
    return this.rt;
  }

  /** The runtime if one runs (for summaries that also work without one). */
  peek(): ClusterRuntime | undefined {
    return this.rt;
  }

  async start(): Promise<ClusterRuntime> {
    if (this.rt) return this.rt;
    this.rt = await this.start_(this.deps);
    return this.rt;
  }

  async stop(o: { revoke: boolean; stopEtcd?: boolean }): Promise<void> {
    const rt = this.rt;
    this.rt = undefined;
    await rt?.stop(o);
  }
}
