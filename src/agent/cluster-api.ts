/**
 * The agent API's cluster routes (beside the jail routes of api/server.ts), on the unix
 * socket and on the mTLS listener alike:
 *
 *   GET    /v1/cluster                       -> ClusterStatus
 *   POST   /v1/cluster/init|join|leave|token|remove
 *   GET    /v1/hosts                         -> HostRow[]
 *   POST   /v1/hosts/:name/cordon|drain|uncordon
 *   POST   /v1/stacks/:name/diff             {file, stack} -> ServiceDiff[]
 *   PUT    /v1/stacks/:name                  {file, stack} -> {diff, revision}  (apply)
 *   DELETE /v1/stacks/:name                  -> {removed: services}
 *   GET    /v1/status?stack=NAME             -> ServiceStatus[]
 *   POST   /v1/images/:name/:tag/stream      {have} -> image stream (agent to agent)
 *   POST   /v1/images/:name/:tag/pull        -> PullResult (pull it here from a peer)
 *   POST   /v1/images/:name/:tag/push        -> per host PullResult (every live host pulls it)
 */
import { z } from 'zod';
import type { Reply, RouteRequest } from '../api/server.js';
import { allow } from '../api/server.js';
import { RequestError } from '../api/errors.js';
import { queryOf } from '../api/http.js';
import { peerJson } from '../api/peer.js';
import { K, type HostControl, type HostInfo, type HostLive, type HostPlacements, type ObservedReplica, type ServiceRecord, type StackRecord } from '../cluster/model.js';
import { applyWrites, checkStackName, diffStack, serviceRecords, serviceStatus } from '../cluster/stacks.js';
import { NotFoundError } from '../sys/errors.js';
import { checkName, formatImageRef, parseImageRef } from '../sys/names.js';
import { readImage } from '../storage/images/store.js';
import type { Stack } from '../spec/types.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterOps } from './cluster-ops.js';
import { issueToken } from './join.js';
import { jsonByName } from './leader.js';
import { LEADER_KEY } from '../cluster/keys.js';
import type { PullResult } from './images.js';

const port = z.number().int().min(1).max(65535);
const stackBody = z.strictObject({ file: z.string(), stack: z.strictObject({ services: z.record(z.string(), z.any()) }) });
const initBody = z.strictObject({ advertise: z.string().optional(), name: z.string().optional(), apiPort: port.optional(), joinPort: port.optional() });
const joinBody = z.strictObject({ address: z.string(), token: z.string(), advertise: z.string().optional(), name: z.string().optional(), joinPort: port.optional(), apiPort: port.optional() });
const tokenBody = z.strictObject({ ttlSeconds: z.number().int().optional() });
const removeBody = z.strictObject({ host: z.string(), force: z.boolean().optional() });
const haveBody = z.strictObject({ have: z.array(z.string()).max(10_000) });

function parse<T>(schema: z.ZodType<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new RequestError(400, `${what} is invalid at ${i.path.join('.') || '(root)'}: ${i.message}`, 'client and agent may be of different cellblock versions');
  }
  return r.data;
}

export interface HostRow {
  name: string;
  address: string;
  state: 'ready' | 'cordoned' | 'draining' | 'down';
  etcd: HostLive['etcd'] | 'unknown';
  leader: boolean;
  subnet: string;
  replicas: number;
  capacity: HostLive['capacity'] | null;
  usage: { memoryBytes: number; cpus: number };
}

export function clusterRoutes(rt: ClusterRuntime, ops: ClusterOps) {
  return async (r: RouteRequest): Promise<Reply | undefined> => {
    const [collection, a, b, c, ...rest] = r.parts;
    const m = r.method;
    switch (collection) {
      case 'cluster': return clusterRoute(rt, ops, r, a, b);
      case 'hosts': {
        if (a === undefined) { allow(m, ['GET']); return { status: 200, body: await hostRows(rt) }; }
        allow(m, ['POST']);
        if (b === undefined || c !== undefined) return undefined;
        return { status: 200, body: await hostControl(rt, checkName('host', decodeURIComponent(a)), b) };
      }
      case 'stacks': {
        if (a === undefined || c !== undefined) return undefined;
        const name = checkStackName(decodeURIComponent(a));
        if (b === 'diff') {
          allow(m, ['POST']);
          const body = parse(stackBody, await r.body(), 'stack diff request');
          const { current, next } = await stackPair(rt, name, body.stack as Stack);
          return { status: 200, body: diffStack(current, next) };
        }
        if (b !== undefined) return undefined;
        allow(m, ['PUT', 'DELETE']);
        if (m === 'PUT') return { status: 200, body: await apply(rt, name, parse(stackBody, await r.body(), 'apply request')) };
        return { status: 200, body: await deleteStack(rt, name) };
      }
      case 'status': {
        if (a !== undefined) return undefined;
        allow(m, ['GET']);
        const q = queryOf(r.url, ['stack']);
        return { status: 200, body: await status(rt, q.get('stack')) };
      }
      case 'images': {
        if (a === undefined || b === undefined || c === undefined || rest.length) return undefined;
        allow(m, ['POST']);
        const ref = parseImageRef(`${decodeURIComponent(a)}:${decodeURIComponent(b)}`);
        const images = rt.images;
        if (!images) throw new RequestError(503, 'the agent is starting', 'try again in a few seconds');
        if (c === 'stream') {
          const body = parse(haveBody, await r.body(), 'image stream request');
          await images.serve(ref, body.have, r.res);
          return 'streamed';
        }
        if (c === 'pull') return { status: 200, body: await images.pull(formatImageRef(ref)) };
        if (c === 'push') {
          const q = queryOf(r.url, ['stream']);
          if (q.get('stream') !== '1') return { status: 200, body: await push(rt, formatImageRef(ref)) };
          // one JSON line per host as its pull ends, so the CLI shows each host's progress
          let started = false;
          const line = (v: unknown) => {
            if (!started) { r.res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' }); started = true; }
            r.res.write(JSON.stringify(v) + '\n');
          };
          const out = await push(rt, formatImageRef(ref), { onTargets: (hosts) => line({ hosts }), onHost: (h) => line(h) });
          line({ done: true, image: out.image });
          r.res.end();
          return 'streamed';
        }
        return undefined;
      }
      default:
        return undefined;
    }
  };
}

async function clusterRoute(rt: ClusterRuntime, ops: ClusterOps, r: RouteRequest, action: string | undefined, extra: string | undefined): Promise<Reply | undefined> {
  if (extra !== undefined) return undefined;
  if (action === undefined) {
    allow(r.method, ['GET']);
    return { status: 200, body: await clusterStatus(rt, ops) };
  }
  allow(r.method, ['POST']);
  switch (action) {
    case 'init': return { status: 200, body: await ops.init(parse(initBody, await r.body(), 'cluster init request')) };
    case 'join': return { status: 200, body: await ops.join(parse(joinBody, await r.body(), 'cluster join request')) };
    case 'leave': return { status: 200, body: await ops.leave() };
    case 'remove': { const b = parse(removeBody, await r.body(), 'cluster remove request'); return { status: 200, body: await ops.remove(b.host, { force: b.force ?? false }) }; }
    case 'token': {
      const b = parse(tokenBody, await r.body(), 'cluster token request');
      return { status: 200, body: await issueToken(rt.requireStore(), rt.requireTls().ca, b.ttlSeconds) };
    }
    default: return undefined;
  }
}

async function clusterStatus(rt: ClusterRuntime, ops: ClusterOps) {
  const store = rt.requireStore();
  const leader = await store.getString(LEADER_KEY);
  const [members, hosts] = await Promise.all([
    store.client.cluster.memberList({ linearizable: false }).then((r) => r.members ?? []).catch(() => []),
    hostRows(rt, leader ?? null),
  ]);
  return {
    ...ops.summary(),
    leader: leader ?? null,
    members: members.map((mm) => ({ name: mm.name, peerURLs: mm.peerURLs, clientURLs: mm.clientURLs, learner: mm.isLearner })).sort((x, y) => (x.name < y.name ? -1 : 1)),
    hosts,
  };
}

/** Every known host with its state; `leader` when the caller has read the leader key already. */
export async function hostRows(rt: ClusterRuntime, knownLeader?: string | null): Promise<HostRow[]> {
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

async function hostControl(rt: ClusterRuntime, host: string, action: string): Promise<{ host: string; state: string }> {
  const store = rt.requireStore();
  const known = (await store.get(K.hostInfo(host))) ?? (await store.get(K.hostLive(host)));
  if (!known) throw new NotFoundError(`no host named ${host} in this cluster`, 'see the names with: cellblock host ls');
  switch (action) {
    case 'cordon':
    case 'drain': {
      const rec: HostControl = { state: action === 'cordon' ? 'cordoned' : 'draining', at: new Date().toISOString() };
      await store.putJson(K.hostCtl(host), rec);
      return { host, state: rec.state };
    }
    case 'uncordon':
      await store.delete(K.hostCtl(host));
      return { host, state: 'ready' };
    default:
      throw new RequestError(404, `no host action ${JSON.stringify(action)}`, 'use cordon, drain or uncordon');
  }
}

async function currentServices(rt: ClusterRuntime, stack: string): Promise<ServiceRecord[]> {
  const kvs = await rt.requireStore().getPrefix(K.servicesOf(stack));
  return kvs.kvs.map((kv) => JSON.parse(kv.value) as ServiceRecord);
}

async function stackPair(rt: ClusterRuntime, name: string, stack: Stack): Promise<{ current: ServiceRecord[]; next: ServiceRecord[] }> {
  for (const [svc, spec] of Object.entries(stack.services)) {
    checkName('service', svc);
    if (!spec || typeof spec !== 'object' || typeof spec.replicas !== 'number' || !spec.image) throw new RequestError(400, `service ${svc} is not a normalized service spec`, 'send the output of the stack parser (the CLI does this)');
  }
  return { current: await currentServices(rt, name), next: serviceRecords(name, stack) };
}

async function apply(rt: ClusterRuntime, name: string, body: { file: string; stack: Record<string, unknown> }) {
  const { current, next } = await stackPair(rt, name, body.stack as unknown as Stack);
  await rt.images?.announce();
  for (const svc of next) {
    const ref = svc.spec.image;
    const here = await readImage(rt.o.dataDir, ref);
    if (!here && (await rt.images!.holders(ref)).length === 0) {
      throw new NotFoundError(`service ${svc.spec.name}: image ${formatImageRef(ref)} is on no host of the cluster`, `build it on one host first: cellblock image build ${formatImageRef(ref)} DIR (nothing was applied)`);
    }
  }
  const diff = diffStack(current, next);
  const r = await rt.requireStore().batch(applyWrites(name, body.file, current, next, new Date().toISOString()));
  rt.log.info({ stack: name, changes: diff.filter((d) => d.change !== 'none').map((d) => `${d.service}: ${d.change}`) }, 'stack applied');
  return { stack: name, diff, revision: r.revision, services: next.map((s) => ({ service: s.spec.name, specHash: s.specHash })) };
}

async function deleteStack(rt: ClusterRuntime, name: string) {
  const store = rt.requireStore();
  const rec = await store.getJson<StackRecord>(K.stack(name));
  const current = await currentServices(rt, name);
  if (!rec && current.length === 0) throw new NotFoundError(`no stack named ${name} in this cluster`, 'see the applied stacks with: cellblock status');
  await store.batch([{ delete: K.stack(name) }, ...current.map((s) => ({ delete: K.service(name, s.spec.name) }))]);
  return { stack: name, removed: current.map((s) => s.spec.name) };
}

async function status(rt: ClusterRuntime, stack: string | undefined) {
  const store = rt.requireStore();
  const [services, placements, observed] = await Promise.all([
    store.getPrefix(stack ? K.servicesOf(checkStackName(stack)) : K.services), store.getPrefix(K.placements), store.getPrefix(K.observedAll),
  ]);
  return serviceStatus(
    services.kvs.map((kv) => JSON.parse(kv.value) as ServiceRecord),
    placements.kvs.map((kv) => JSON.parse(kv.value) as HostPlacements),
    observed.kvs.map((kv) => JSON.parse(kv.value) as ObservedReplica),
  );
}

/** Announces the image, then has every other live host pull it (incremental where it can). */
export type HostPull = PullResult & { host: string; error: string | null };

async function push(rt: ClusterRuntime, image: string, on: { onTargets?: (hosts: string[]) => void; onHost?: (h: HostPull) => void } = {}): Promise<{ image: string; hosts: HostPull[] }> {
  const ref = parseImageRef(image);
  if (!(await readImage(rt.o.dataDir, ref))) throw new NotFoundError(`image ${image} is not on this host`, `build or import it here first: cellblock image build ${image} DIR`);
  await rt.images!.announce();
  const store = rt.requireStore();
  const live = (await store.getPrefix(K.hostsLive)).kvs.map((kv) => JSON.parse(kv.value) as HostLive).filter((h) => h.name !== rt.name);
  const tls = live.length ? rt.requireTls() : undefined;
  on.onTargets?.(live.map((h) => h.name).sort());
  const hosts = await Promise.all(live.map(async (h): Promise<HostPull> => {
    let r: HostPull;
    try {
      const res = await peerJson<PullResult>(tls!, { name: h.name, address: h.address, apiPort: h.apiPort }, 'POST', `/v1/images/${ref.name}/${ref.tag}/pull`, { timeoutMs: 600_000 });
      r = { ...res, host: h.name, error: null };
    } catch (err) {
      r = { image, host: h.name, from: null, since: null, bytes: 0, seconds: 0, error: (err as Error).message };
    }
    on.onHost?.(r);
    return r;
  }));
  return { image, hosts: hosts.sort((x, y) => (x.host < y.host ? -1 : 1)) };
}
