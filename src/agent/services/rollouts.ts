/**
 * Rollouts as the agent serves them (`cellblock rollout status|history|undo`): the records
 * read from the store, a service named NAME or STACK/NAME resolved, and undo written in one
 * transaction guarded by what it read. The leader does the rest (cluster/rollout-plan.ts).
 */
import type { Logger } from 'pino';
import { K } from '../../cluster/keys.js';
import type { ServiceRecord } from '../../cluster/model.js';
import { deployOf, imageOf, rolloutStartWrites, undoWrites, type RolloutRecord } from '../../cluster/rollout.js';
import type { Guard, Store, TxnWrite } from '../../cluster/store.js';
import type { RolloutView } from '../../api/contract.js';
import { NotFoundError, UserError } from '../../sys/errors.js';

export interface RolloutServiceDeps {
  store: Store;
  log: Logger;
  now?: () => Date;
}

/** The writes `apply` adds for its changed services: a rollout record each (reads the last ones). */
export async function rolloutStarts(store: Store, stack: string, current: readonly ServiceRecord[], next: readonly ServiceRecord[], at: string): Promise<TxnWrite[]> {
  const last = new Map((await store.listJson<RolloutRecord>(K.rollouts + stack + '/')).map((e) => [e.value.service, e.value]));
  return rolloutStartWrites(current, next, last, at);
}

export class RolloutService {
  constructor(private readonly d: RolloutServiceDeps) {}

  private nowIso(): string {
    return (this.d.now?.() ?? new Date()).toISOString();
  }

  /** The service a NAME or STACK/NAME means: refused when unknown or, for NAME, in several stacks. */
  private async resolve(ref: string): Promise<ServiceRecord> {
    const all = (await this.d.store.listJson<ServiceRecord>(K.services)).map((e) => e.value);
    const [stack, name] = ref.includes('/') ? ref.split('/') as [string, string] : [undefined, ref];
    const found = all.filter((r) => r.spec.name === name && (stack === undefined || r.stack === stack));
    if (found.length === 0) throw new NotFoundError(`no service ${ref} in this cluster`, 'see the services with: cellblock status');
    if (found.length > 1) throw new UserError(`service ${name} is in several stacks: ${found.map((r) => r.stack).sort().join(', ')}`, `name it STACK/NAME, e.g. ${found[0]!.stack}/${name}`);
    return found[0]!;
  }

  private view(r: RolloutRecord, svc: ServiceRecord | undefined): RolloutView {
    const { from, ...rest } = r;
    return {
      ...rest,
      from: from ? { specHash: from.specHash, image: from.image } : null,
      replicas: r.replicas.map(({ baseline: _b, ...x }) => x),
      current: svc ? (({ deadlineMs, drainMs, maxSurge, maxUnavailable }) => ({
        replicas: svc.spec.replicas, specHash: svc.specHash, image: imageOf(svc.spec), deadlineMs, drainMs, maxSurge, maxUnavailable,
      }))(deployOf(svc.spec)) : null,
      now: this.nowIso(),
    };
  }

  /** One service's rollout (`service`), a stack's, or every one. A named service without any rollout: refused. */
  async list(q: { service?: string; stack?: string }): Promise<RolloutView[]> {
    const services = (await this.d.store.listJson<ServiceRecord>(K.services)).map((e) => e.value);
    const svcOf = (stack: string, name: string) => services.find((s) => s.stack === stack && s.spec.name === name);
    if (q.service !== undefined) {
      const svc = await this.resolve(q.service);
      const r = await this.d.store.getJson<RolloutRecord>(K.rollout(svc.stack, svc.spec.name));
      if (!r) throw new NotFoundError(`${svc.stack}/${svc.spec.name} has had no rollout (its spec has not changed since it was created)`, 'a rollout starts when apply changes the service\'s spec (image, command, env, ...)');
      return [this.view(r, svc)];
    }
    const records = (await this.d.store.listJson<RolloutRecord>(q.stack !== undefined ? `${K.rollouts}${q.stack}/` : K.rollouts)).map((e) => e.value);
    return records.map((r) => this.view(r, svcOf(r.stack, r.service)));
  }

  /** Back to the spec before the last rollout (undoWrites), guarded by the records read. */
  async undo(ref: string): Promise<RolloutView> {
    const svc = await this.resolve(ref);
    const key = K.rollout(svc.stack, svc.spec.name);
    const svcKey = K.service(svc.stack, svc.spec.name);
    const [r, rawSvc, rawRollout] = await Promise.all([this.d.store.getJson<RolloutRecord>(key), this.d.store.get(svcKey), this.d.store.get(key)]);
    const now = rawSvc ? JSON.parse(rawSvc.value) as ServiceRecord : svc;
    const u = undoWrites(now, r, this.nowIso());
    const guards: Guard[] = [
      { key: svcKey, target: 'Mod', op: '==', value: rawSvc?.modRevision ?? '0' },
      { key, target: 'Mod', op: '==', value: rawRollout?.modRevision ?? '0' },
    ];
    const res = await this.d.store.txn(guards, u.writes);
    if (!res.succeeded) throw new UserError(`${svc.stack}/${svc.spec.name} changed while undo was being written (an apply, or the leader moving the rollout on)`, 'run cellblock rollout undo again');
    this.d.log.info({ service: `${svc.stack}/${svc.spec.name}`, to: u.restored.specHash, state: u.record.state }, 'rollout undone');
    return this.view(u.record, u.restored);
  }
}
