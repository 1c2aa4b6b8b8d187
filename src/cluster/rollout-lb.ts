/**
 * What a rollout reads of the load balancers: the `lbstate/<host>` records of the live hosts
 * (lb/model.ts). Pure.
 */
import { notInRotation, type LbHostState } from '../lb/model.js';

export class LbView {
  private readonly by: Map<string, LbHostState>;

  constructor(states: readonly LbHostState[], readonly liveHosts: readonly string[]) {
    this.by = new Map(states.map((s) => [s.host, s]));
  }

  /** Live hosts whose HAProxy does not have `jail` in rotation (or runs no HAProxy, or says nothing). */
  notIn(jail: string): string[] {
    return notInRotation(jail, this.by, this.liveHosts);
  }

  /** True when every live host's HAProxy has `jail` out of rotation with no session left on it. */
  drained(jail: string): boolean {
    return this.liveHosts.every((h) => {
      const st = this.by.get(h);
      if (!st || st.haproxy !== 'running') return false; // cannot tell: wait for the drain time
      return st.backends.every((b) => b.servers.every((s) => s.jail !== jail || (!s.inRotation && s.sessions === 0)));
    });
  }

  /** HAProxy's requests and errors for `jail`, summed over every host that reports it. */
  figures(jail: string): { requests: number; errors: number } {
    let requests = 0;
    let errors = 0;
    for (const st of this.by.values()) {
      for (const b of st.backends) for (const s of b.servers) if (s.jail === jail) { requests += s.requests; errors += s.errors; }
    }
    return { requests, errors };
  }
}

/** `60s`, `1.5s`, `250ms`. */
export function secondsText(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  return `${Number.isInteger(ms / 1000) ? ms / 1000 : (ms / 1000).toFixed(1)}s`;
}
