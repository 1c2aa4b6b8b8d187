/**
 * Stacks as the agent serves them: apply, diff, delete and status over the cluster store.
 * The pure parts (records, diff, writes, status) are cluster/stacks.ts, and the load
 * balancer's lb/claims.ts, lb/certs.ts and lb/apply.ts; this adds the reads and the checks
 * that need the cluster: every image a stack names is on some host, the disk fits a pool,
 * nothing it publishes is another stack's, its certificates are good, and no program of a
 * live host holds a port it publishes.
 */
import type { Logger } from 'pino';
import { K } from '../../cluster/keys.js';
import { replicaJailName, type HostLive, type ServiceRecord, type StackRecord } from '../../cluster/model.js';
import { applyWrites, checkStackName, diffStack, serviceRecords, serviceStatus, type ServiceDiff, type ServiceStatus } from '../../cluster/stacks.js';
import type { Store } from '../../cluster/store.js';
import type { Stack } from '../../spec/types.js';
import { NotFoundError, UserError } from '../../sys/errors.js';
import { formatSize } from '../../sys/size.js';
import { formatPath, stackErrorAt } from '../../spec/parse.js';
import { DEFAULT_OVERCOMMIT, type ClusterSettings } from '../../cluster/subnets.js';
import { defaultDiskOf, readSnapshot, hostsOf, type ClusterSnapshot } from '../../cluster/snapshot.js';
import { planPlacements } from '../../cluster/leader-plan.js';
import { formatImageRef, type ImageRef } from '../../sys/names.js';
import type { LbRecord } from '../../lb/model.js';
import { clusterClaimProblems, effectiveLb, type ClaimProblem } from '../../lb/claims.js';
import { checkCerts } from '../../lb/certs.js';
import { lbDeletes, lbOf, lbWrites, portProblems, portsToProbe, type HostPortInUse } from '../../lb/apply.js';
import type { PortsReply } from '../../api/contract.js';
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

/** Who listens on the ports a stack would publish (lb/ports.ts on each host). */
export interface PortProbe {
  /** This host's answer (the lbPorts route). */
  here(ports: number[]): Promise<PortsReply>;
  /** Every live host's, this one included; a host that cannot be asked makes the apply fail. */
  inUse(ports: number[]): Promise<HostPortInUse[]>;
}

export interface StackServiceDeps {
  store: Store;
  images: ImageLookup;
  log: Logger;
  /** Absent (tests of other parts): published ports are not checked against the hosts. */
  ports?: PortProbe;
  now?: () => Date;
}

/** Every service of the cluster and its live hosts, as apply and diff read them. */
interface ClusterView { all: ServiceRecord[]; live: HostLive[] }

export class StackService {
  constructor(private readonly d: StackServiceDeps) {}

  private async current(stack: string): Promise<ServiceRecord[]> {
    return (await this.d.store.listJson<ServiceRecord>(K.servicesOf(stack))).map((e) => e.value);
  }

  /** What apply and diff check against, read once: every service of the cluster and the live hosts. */
  private async cluster(): Promise<ClusterView> {
    const [all, live] = await Promise.all([this.d.store.listJson<ServiceRecord>(K.services), this.d.store.mapJson<HostLive>(K.hostsLive)]);
    return { all: all.map((e) => e.value), live: [...live.values()] };
  }

  /** What apply would change; a file whose publish or tls the cluster would refuse is refused here too (ports are not asked). */
  async diff(name: string, stack: Stack, src: StackSource = {}): Promise<ServiceDiff[]> {
    const stackName = checkStackName(name);
    const c = await this.cluster();
    await this.checkLb(stackName, stack, src, false, c);
    return diffStack(c.all.filter((r) => r.stack === stackName), serviceRecords(stackName, stack));
  }

  /** Writes the stack in one transaction, after checking that each image is on some host. */
  async apply(name: string, file: string, stack: Stack, text?: string, files?: Readonly<Record<string, string>>): Promise<ApplyResult> {
    const stackName = checkStackName(name);
    const c = await this.cluster();
    const current = c.all.filter((r) => r.stack === stackName);
    const next = serviceRecords(stackName, stack);
    await this.checkDiskFits(file, text, next, c.live);
    const lb = await this.checkLb(stackName, stack, { file, ...(text !== undefined ? { text } : {}), ...(files ? { files } : {}) }, true, c);
    await this.d.images.announce();
    for (const svc of next) {
      const ref = svc.spec.image;
      if (!(await this.d.images.isLocal(ref)) && (await this.d.images.holders(ref)).length === 0) {
        throw new NotFoundError(`service ${svc.spec.name}: image ${formatImageRef(ref)} is on no host of the cluster`, `build it on one host first: cellblock image build ${formatImageRef(ref)} DIR (nothing was applied)`);
      }
    }
    const diff = diffStack(current, next);
    const at = (this.d.now?.() ?? new Date()).toISOString();
    // guarded by the lb record as it was read: two stacks applied at once cannot both set it;
    // a changed spec starts a rollout: its record goes in the same transaction (agent/services/rollouts.ts)
    const r = await this.d.store.txn([{ key: K.lb, target: 'Mod', op: '==', value: lb.recRevision }], [
      ...applyWrites(stackName, file, current, next, at), ...lbWrites(stackName, stack, lb.rec, lb.certs, current, at),
      ...await rolloutStarts(this.d.store, stackName, current, next, at),
    ]);
    if (!r.succeeded) throw new UserError(`the cluster's lb: changed while stack ${stackName} was being applied (another apply at the same time)`, 'apply again: nothing was applied');
    this.d.log.info({ stack: stackName, changes: diff.filter((x) => x.change !== 'none').map((x) => `${x.service}: ${x.change}`) }, 'stack applied');
    return { stack: stackName, diff, revision: r.revision, services: next.map((s) => ({ service: s.spec.name, specHash: s.specHash })) };
  }

  /**
   * A replica whose disk limit is larger than what every host's pool offers (its size times
   * the cluster's overcommit) could never be placed: refused at its line, nothing applied.
   * (One that fits a pool but not the free space left is placed later or reported unplaced.)
   */
  private async checkDiskFits(file: string, text: string | undefined, next: readonly ServiceRecord[], live: readonly HostLive[]): Promise<void> {
    const wants = next.filter((r) => r.spec.diskBytes !== undefined);
    if (wants.length === 0) return;
    const settings = await this.d.store.getJson<ClusterSettings>(K.settings);
    const ratio = settings?.overcommit ?? DEFAULT_OVERCOMMIT;
    const pools = live.filter((h) => h.capacity.diskBytes !== undefined).map((h) => ({ host: h.name, bytes: Math.floor(h.capacity.diskBytes! * ratio) }));
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

  /**
   * The load balancer's checks (lb/claims.ts, lb/certs.ts; with `probe`, the hosts' ports):
   * every problem at its line, nothing written. Returns the cluster's lb record and the
   * certificate records to write.
   */
  private async checkLb(stackName: string, stack: Stack, src: StackSource, probe: boolean, { all, live }: ClusterView) {
    const recKv = await this.d.store.get(K.lb);
    const rec = recKv ? JSON.parse(recKv.value) as LbRecord : undefined;
    const others = all.filter((r) => r.stack !== stackName);
    const problems: ClaimProblem[] = clusterClaimProblems(stack, { stack: stackName, others, ...(rec ? { lb: rec } : {}), hosts: live });
    const certs = checkCerts(stack, src.files ?? {}, this.d.now?.() ?? new Date());
    problems.push(...certs.problems);
    if (problems.length === 0 && probe && this.d.ports) {
      const after = effectiveLb(stackName, stack, rec);
      const ports = portsToProbe({ services: all.map((r) => r.spec), lb: lbOf(rec) }, { services: [...others.map((r) => r.spec), ...Object.values(stack.services)], lb: after });
      if (ports.length > 0) problems.push(...portProblems(stack, after, await this.d.ports.inUse(ports)));
    }
    if (problems.length > 0) throw refusal(src.file ?? `stack ${stackName}`, src.text, problems);
    return { rec, recRevision: recKv?.modRevision ?? '0', certs: certs.records };
  }

  /** This host's answer to `POST /v1/lb/ports`. */
  async portsHere(ports: number[]): Promise<PortsReply> {
    if (!this.d.ports) throw new UserError('this agent cannot check ports', 'run a cellblock agent of the same version');
    return this.d.ports.here(ports);
  }

  async remove(name: string): Promise<{ stack: string; removed: string[] }> {
    const stackName = checkStackName(name);
    const rec = await this.d.store.getJson<StackRecord>(K.stack(stackName));
    const current = await this.current(stackName);
    if (!rec && current.length === 0) throw new NotFoundError(`no stack named ${stackName} in this cluster`, 'see the applied stacks with: cellblock status');
    const lb = await this.d.store.getJson<LbRecord>(K.lb);
    await this.d.store.batch([{ delete: K.stack(stackName) }, ...current.map((s) => ({ delete: K.service(stackName, s.spec.name) })), ...lbDeletes(stackName, lb ?? undefined, current)]);
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

/** Where a stack came from, for messages at its lines, and the files it names (tls). */
export interface StackSource { file?: string; text?: string; files?: Readonly<Record<string, string>> }

/** Problems at their lines when the file's text is known, else one message naming the fields. */
function refusal(file: string, text: string | undefined, problems: readonly ClaimProblem[]): UserError {
  if (text !== undefined) return stackErrorAt(text, file, problems);
  return new UserError(`${file}: ${problems.map((p) => `${formatPath(p.path)}: ${p.message}`).join('; ')}`, problems[0]!.fix);
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
