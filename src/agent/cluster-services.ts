/**
 * The cluster routes' services (http/services.ts) on top of today's ClusterRuntime and
 * ClusterOps: a plain adapter, kept apart so that services over a Store and an ImageService
 * can replace it whole. The business logic of the old route file lives here: apply's image
 * check, the host rows, the push fan-out, delete and status.
 */
import type { ApplyResult, ClusterStatus, DeleteResult, HostAction, HostPull, HostRow, PullResult, PushResult, ServiceStatus } from '../api/contract.js';
import { ApiClient } from '../api/client.js';
import { K, type HostControl, type HostInfo, type HostLive, type HostPlacements, type ObservedReplica, type ServiceRecord, type StackRecord } from '../cluster/model.js';
import { applyWrites, diffStack, serviceRecords, serviceStatus, type ServiceDiff } from '../cluster/stacks.js';
import { LEADER_KEY } from '../cluster/keys.js';
import { readImage } from '../storage/images/store.js';
import type { Stack } from '../spec/types.js';
import { NotFoundError, UnavailableError } from '../sys/errors.js';
import { logWarn } from '../sys/log.js';
import { formatImageRef, type ImageRef } from '../sys/names.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterOps } from './cluster-ops.js';
import type { ClusterApi, ClusterServices, HostApi, ImageApi, PushProgress, StackApi } from './http/services.js';
import { issueToken } from './join.js';
import { jsonByName } from './leader.js';

export function clusterServices(rt: ClusterRuntime, ops: ClusterOps): ClusterServices {
  const images = () => {
    if (!rt.images) throw new UnavailableError('the agent is starting its cluster side', 'try again in a few seconds');
    return rt.images;
  };
  const hosts = hostApi(rt);
  return { hosts, cluster: clusterApi(rt, ops, hosts), stacks: stackApi(rt, images), images: imageApi(rt, images) };
}

function clusterApi(rt: ClusterRuntime, ops: ClusterOps, hosts: ReturnType<typeof hostApi>): ClusterApi {
  return {
    async status(): Promise<ClusterStatus> {
      const store = rt.requireStore();
      const leader = (await store.getString(LEADER_KEY)) ?? null;
      const [members, rows] = await Promise.all([
        store.client.cluster.memberList({ linearizable: false }).then((r) => r.members ?? []).catch((err: unknown) => {
          logWarn(rt.log, err, 'listing the etcd members failed; cluster status shows none');
          return [];
        }),
        hosts.rowsWith(leader),
      ]);
      return {
        ...ops.summary(),
        leader,
        members: members.map((m) => ({ name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, learner: m.isLearner })).sort((x, y) => (x.name < y.name ? -1 : 1)),
        hosts: rows,
      };
    },
    init: (o) => ops.init(o),
    join: (o) => ops.join(o),
    leave: () => ops.leave(),
    remove: (host, o) => ops.remove(host, o),
    token: (ttlSeconds) => issueToken(rt.requireStore(), rt.requireTls().ca, ttlSeconds),
  };
}

function hostApi(rt: ClusterRuntime): HostApi & { rowsWith(leader: string | null): Promise<HostRow[]> } {
  /** Every known host with its state; `knownLeader` when the caller has read the leader key already. */
  async function rowsWith(knownLeader?: string | null): Promise<HostRow[]> {
    const store = rt.requireStore();
    const [live, info, ctl, placements, leader] = await Promise.all([
      store.getPrefix(K.hostsLive), store.getPrefix(K.hostsInfo), store.getPrefix(K.hostsCtl), store.getPrefix(K.placements),
      knownLeader !== undefined ? knownLeader : store.getString(LEADER_KEY),
    ]);
    const liveBy = jsonByName<HostLive>(live.kvs);
    const infoBy = jsonByName<HostInfo>(info.kvs);
    const ctlBy = jsonByName<HostControl>(ctl.kvs);
    const placedBy = jsonByName<HostPlacements>(placements.kvs);
    return [...new Set([...liveBy.keys(), ...infoBy.keys()])].sort().map((name) => {
      const l = liveBy.get(name);
      const i = infoBy.get(name);
      const as = placedBy.get(name)?.assignments ?? [];
      return {
        name,
        address: l?.address ?? i?.address ?? '',
        state: !l ? 'down' : ctlBy.get(name)?.state ?? 'ready',
        etcd: l?.etcd ?? 'unknown',
        leader: leader === name,
        subnet: l?.subnet ?? i?.subnet ?? '',
        replicas: as.length,
        capacity: l?.capacity ?? null,
        usage: { memoryBytes: as.reduce((s, x) => s + (x.spec.memoryBytes ?? 0), 0), cpus: as.reduce((s, x) => s + (x.spec.cpus ?? 0), 0) },
      };
    });
  }
  return {
    rows: () => rowsWith(),
    rowsWith,
    async control(host: string, action: HostAction) {
      const store = rt.requireStore();
      const known = (await store.get(K.hostInfo(host))) ?? (await store.get(K.hostLive(host)));
      if (!known) throw new NotFoundError(`no host named ${host} in this cluster`, 'see the names with: cellblock host ls');
      if (action === 'uncordon') {
        await store.delete(K.hostCtl(host));
        return { host, state: 'ready' };
      }
      const rec: HostControl = { state: action === 'cordon' ? 'cordoned' : 'draining', at: new Date().toISOString() };
      await store.putJson(K.hostCtl(host), rec);
      return { host, state: rec.state };
    },
  };
}

type Images = () => NonNullable<ClusterRuntime['images']>;

function stackApi(rt: ClusterRuntime, images: Images): StackApi {
  const currentServices = async (stack: string): Promise<ServiceRecord[]> =>
    (await rt.requireStore().getPrefix(K.servicesOf(stack))).kvs.map((kv) => JSON.parse(kv.value) as ServiceRecord);
  return {
    async diff(name: string, stack: Stack): Promise<ServiceDiff[]> {
      return diffStack(await currentServices(name), serviceRecords(name, stack));
    },
    async apply(name: string, file: string, stack: Stack): Promise<ApplyResult> {
      const current = await currentServices(name);
      const next = serviceRecords(name, stack);
      await images().announce();
      for (const svc of next) {
        const ref = svc.spec.image;
        if (!(await readImage(rt.o.dataDir, ref)) && (await images().holders(ref)).length === 0) {
          throw new NotFoundError(`service ${svc.spec.name}: image ${formatImageRef(ref)} is on no host of the cluster`, `build it on one host first: cellblock image build ${formatImageRef(ref)} DIR (nothing was applied)`);
        }
      }
      const diff = diffStack(current, next);
      const r = await rt.requireStore().batch(applyWrites(name, file, current, next, new Date().toISOString()));
      rt.log.info({ stack: name, changes: diff.filter((d) => d.change !== 'none').map((d) => `${d.service}: ${d.change}`) }, 'stack applied');
      return { stack: name, diff, revision: r.revision, services: next.map((s) => ({ service: s.spec.name, specHash: s.specHash })) };
    },
    async remove(name: string): Promise<DeleteResult> {
      const store = rt.requireStore();
      const rec = await store.getJson<StackRecord>(K.stack(name));
      const current = await currentServices(name);
      if (!rec && current.length === 0) throw new NotFoundError(`no stack named ${name} in this cluster`, 'see the applied stacks with: cellblock status');
      await store.batch([{ delete: K.stack(name) }, ...current.map((s) => ({ delete: K.service(name, s.spec.name) }))]);
      return { stack: name, removed: current.map((s) => s.spec.name) };
    },
    async status(stack?: string): Promise<ServiceStatus[]> {
      const store = rt.requireStore();
      const [services, placements, observed] = await Promise.all([
        store.getPrefix(stack ? K.servicesOf(stack) : K.services), store.getPrefix(K.placements), store.getPrefix(K.observedAll),
      ]);
      return serviceStatus(
        services.kvs.map((kv) => JSON.parse(kv.value) as ServiceRecord),
        placements.kvs.map((kv) => JSON.parse(kv.value) as HostPlacements),
        observed.kvs.map((kv) => JSON.parse(kv.value) as ObservedReplica),
      );
    },
  };
}

function imageApi(rt: ClusterRuntime, images: Images): ImageApi {
  return {
    serve: (ref, have, res) => images().serve(ref, have, res),
    pull: (ref: ImageRef): Promise<PullResult> => images().pull(formatImageRef(ref)),
    /** Announces the image, then has every other live host pull it (incremental where it can). */
    async push(ref: ImageRef, on: PushProgress = {}): Promise<PushResult> {
      const image = formatImageRef(ref);
      if (!(await readImage(rt.o.dataDir, ref))) throw new NotFoundError(`image ${image} is not on this host`, `build or import it here first: cellblock image build ${image} DIR`);
      await images().announce();
      const store = rt.requireStore();
      const live = (await store.getPrefix(K.hostsLive)).kvs.map((kv) => JSON.parse(kv.value) as HostLive).filter((h) => h.name !== rt.name);
      const tls = live.length ? rt.requireTls() : undefined;
      on.onTargets?.(live.map((h) => h.name).sort());
      const hosts = await Promise.all(live.map(async (h): Promise<HostPull> => {
        let r: HostPull;
        try {
          const peer = ApiClient.forPeer(tls!, { name: h.name, address: h.address, apiPort: h.apiPort }, { timeoutMs: 600_000 });
          r = { ...(await peer.call('imagePull', { params: ref })), host: h.name, error: null };
        } catch (err) {
          // reported to the caller as this host's line; the host pulls it by itself when a replica needs it
          logWarn(rt.log, err, 'a host did not pull the pushed image', { host: h.name, image });
          r = { image, host: h.name, from: null, since: null, bytes: 0, seconds: 0, error: (err as Error).message };
        }
        on.onHost?.(r);
        return r;
      }));
      return { image, hosts: hosts.sort((x, y) => (x.host < y.host ? -1 : 1)) };
    },
  };
}
