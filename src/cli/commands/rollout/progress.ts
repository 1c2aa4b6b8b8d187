/**
 * `apply`'s view of the rollouts it started: the new events of each (surge placed, in
 * rotation on h0 h1 h2, draining site#0, site#0 replacing with v2, ... complete), whether one
 * was rolled back (apply then fails with its reason) and whether all are over. Pure.
 */
import type { ApplyResult, RolloutView } from '../../../api/contract.js';

export class RolloutProgress {
  /** service -> the spec hash this apply wrote, for the services whose spec changed. */
  private readonly targets: Map<string, string>;
  private readonly seen = new Set<string>();

  constructor(r: Pick<ApplyResult, 'diff' | 'services'>) {
    const updated = new Set(r.diff.filter((d) => d.change === 'update').map((d) => d.service));
    this.targets = new Map(r.services.filter((s) => updated.has(s.service)).map((s) => [s.service, s.specHash]));
  }

  /** True when this apply started a rollout (the caller then polls the rollout records). */
  get active(): boolean {
    return this.targets.size > 0;
  }

  /** This apply's rollouts among `views` (a record whose target is another spec is someone else's). */
  private mine(views: readonly RolloutView[]): RolloutView[] {
    return views.filter((v) => this.targets.get(v.service) === v.to.specHash);
  }

  /** The events not printed yet, as `stack/service: text` (an event already naming the service is printed as is). */
  lines(views: readonly RolloutView[]): string[] {
    const out: string[] = [];
    for (const v of this.mine(views)) {
      for (const e of v.events) {
        const id = `${v.service}\0${e.at}\0${e.text}`;
        if (this.seen.has(id)) continue;
        this.seen.add(id);
        out.push(`${v.stack}/${e.text.startsWith(`${v.service}`) ? e.text : `${v.service}: ${e.text}`}`);
      }
    }
    return out;
  }

  /** The reason of a rollout of this apply that was rolled back or undone, if any. */
  failed(views: readonly RolloutView[]): string | undefined {
    const bad = this.mine(views).find((v) => v.state === 'rolled-back' || v.state === 'undone');
    return bad ? bad.reason ?? `${bad.service}: ${bad.state}` : undefined;
  }

  /** True when no rollout of this apply is still progressing. */
  done(views: readonly RolloutView[]): boolean {
    return !this.mine(views).some((v) => v.state === 'progressing');
  }
}
