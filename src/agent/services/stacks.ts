/**
 * Stacks as the agent serves them: apply, diff, delete and status over the cluster store.
 * The pure parts (records, diff, writes, status) are cluster/stacks.ts; this adds the reads
 * and the one check that needs the cluster: every image a stack names is on some host.
 */
import type { Logger } from 'pino';
import { K } from '../../cluster/keys.js';
import { replicaJailName, type HostLive, type ServiceRecord, type StackRecord } from '../../cluster/model.js';
import { applyWrites, checkStackName, diffStack, serviceRecords, serviceStatus, type ServiceDiff, type ServiceStatus } from '../../cluster/stacks.js';
import type { Store } from '../../cluster/store.js';
import type { Stack } from '../../spec/types.js';
import { NotFoundError, UserError } from '../../sys/errors.js';
import { formatSize } from '../../sys/size.js';
import { stackErrorAt } from '../../spec/parse.js';
import { DEFAULT_OVERCOMMIT, type ClusterSettings } from '../../cluster/subnets.js';
import { defaultDiskOf, readSnapshot, hostsOf, type ClusterSnapshot } from '../../cluster/snapshot.js';
import { planPlacements } from '../../cluster/leader-plan.js';
import { formatImageRef, type ImageRef } from '../../sys/names.js';
import { rolloutStarts } from './rollouts.js';

/** What stacks need of images: is one here, and who else holds it. */
export interface ImageLookup {
  /** Writes this host's holder keys now (an image built a moment ago counts). */
  announce(): Promise<void>;
  isLocal(ref: ImageRef): Promise<boolean>;
  holders(ref: ImageRef): Promise<string[]>;
}

export interface ApplyResult {
  stack: string;
  diff: ServiceDiff[];
  revision: string;
  services: { service: string; specHash: string }[];
}

export interface StackServiceDeps {
  store: Store;
  images: ImageLookup;
  log: Logger;
  now?: () => Date;
}

export class StackService {
  constructor(private readonly d: StackServiceDeps) {}

  private async current(stack: string): Promise<ServiceRecord[]> {
    return (await this.d.store.listJson<ServiceRecord>(K.servicesOf(stack))).map((e) => e.value);
  }

  async diff(name: string, stack: Stack): Promise<ServiceDiff[]> {
    const stackName = checkStackName(name);
    return diffStack(await this.current(stackName), serviceRecords(stackName, stack));
  }

  /** Writes the stack in one transaction, after checking that each image is on some host. */
  async apply(name: string, file: string, stack: Stack, text?: string): Promise<ApplyResult> {
    const stackName = checkStackName(name);
    const current = await this.current(stackName);
    const next = serviceRecords(stackName, stack);
    await this.checkDiskFits(file, text, next);
    await this.d.images.announce();
    for (const svc of next) {
      const ref = svc.spec.image;
      if (!(await this.d.images.isLocal(ref)) && (await this.d.images.holders(ref)).length === 0) {
        throw new NotFoundError(`service ${svc.spec.name}: image ${formatImageRef(ref)} is on no host of the cluster`, `build it on one host first: cellblock image build ${formatImageRef(ref)} DIR (nothing was applied)`);
      }
    }
    const diff = diffStack(current, next);
    const at = (this.d.now?.() ?? new Date()).toISOString();
    // a changed spec starts a rollout: its record goes in the same transaction (agent/services/rollouts.ts)
    const r = await this.d.store.batch([...applyWrites(stackName, file, current, next, at), ...await rolloutStarts(this.d.store, stackName, current, next, at)]);
    this.d.log.info({ stack: stackName, changes: diff.filter((x) => x.change !== 'none').map((x) => `${x.service}: ${x.change}`) }, 'stack applied');
    return { stack: stackName, diff, revision: r.revision, services: next.map((s) => ({ service: s.spec.name, specHash: s.specHash })) };
  }

  /**
   * A replica whose disk limit is larger than what every host's pool offers (its size times
   * the cluster's overcommit) could never be placed: refused at its line, nothing applied.
   * (One that fits a pool but not the free space left is placed later or reported unplaced.)
   */
  private async checkDiskFits(file: string, text: string | undefined, next: readonly ServiceRecord[]): Promise<void> {
    const wants = next.filter((r) => r.spec.diskBytes !== undefined);
    if (wants.length === 0) return;
    const [live, settings] = await Promise.all([this.d.store.mapJson<HostLive>(K.hostsLive), this.d.store.getJson<ClusterSettings>(K.settings)]);
    const ratio = settings?.overcommit ?? DEFAULT_OVERCOMMIT;
    const pools = [...live.values()].filter((h) => h.capacity.diskBytes !== undefined).map((h) => ({ host: h.name, bytes: Math.floor(h.capacity.diskBytes! * ratio) }));
    if (pools.length === 0) return; // no host has said its pool's size yet: the scheduler decides
    const largest = pools.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const problems = wants.filter((r) => r.spec.diskBytes! > largest.bytes).map((r) => ({
      path: ['services', r.spec.name, 'disk'],
      message: `${formatSize(r.spec.diskBytes!)} is more than any host's pool offers (the largest: ${formatSize(largest.bytes)} on ${largest.host}${ratio !== 1 ? `, overcommit ${ratio}` : ''})`,
      fix: `give at most ${formatSize(largest.bytes)}, or add a host with a larger pool${ratio === 1 ? ' (or allow overcommit: cluster init --overcommit RATIO)' : ''}`,
    }));
    if (problems.length === 0) return;
    if (text !== undefined) throw stackErrorAt(text, file, problems);
    throw new UserError(`${file}: ${problems.map((p) => `services.${p.path[1]}.disk: ${p.message}`).join('; ')}`, problems[0]!.fix);
  }

  async remove(name: string): Promise<{ stack: string; removed: string[] }> {
    const stackName = checkStackName(name);
    const rec = await this.d.store.getJson<StackRecord>(K.stack(stackName));
    const current = await this.current(stackName);
    if (!rec && current.length === 0) throw new NotFoundError(`no stack named ${stackName} in this cluster`, 'see the applied stacks with: cellblock status');
    await this.d.store.batch([{ delete: K.stack(stackName) }, ...current.map((s) => ({ delete: K.service(stackName, s.spec.name) }))]);
    this.d.log.info({ stack: stackName, removed: current.map((s) => s.spec.name) }, 'stack deleted');
    return { stack: stackName, removed: current.map((s) => s.spec.name) };
  }

  async status(stack?: string): Promise<ServiceStatus[]> {
    const name = stack !== undefined ? checkStackName(stack) : undefined;
    const snap = await readSnapshot(this.d.store);
    const services = name === undefined ? snap.services : snap.services.filter((r) => r.stack === name);
    return serviceStatus(services, [...snap.placements.values()], snap.observed, unplacedReasons(snap));
  }
}

/**
 * Why each unplaced replica is unplaced, by jail name: the scheduler run on the same snapshot
 * the leader reads (pure), so `status` says "no ready host has 5.00G of disk free" where the
 * leader only logged it.
 */
function unplacedReasons(snap: ClusterSnapshot): Map<string, string> {
  const current = new Map([...snap.placements].map(([h, p]) => [h, p.assignments]));
  const plan = planPlacements({ hosts: hostsOf(snap), services: snap.services, current, observed: snap.observed, ...defaultDiskOf(snap) });
  const byKey = new Map(snap.services.map((r) => [`${r.stack}/${r.spec.name}`, r]));
  const out = new Map<string, string>();
  for (const u of plan.result.unplaced) {
    const r = byKey.get(u.service);
    if (r) out.set(replicaJailName(r.stack, r.spec.name, u.replica), `unplaced: ${u.reason}`);
  }
  return out;
}
