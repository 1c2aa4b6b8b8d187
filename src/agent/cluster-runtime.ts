/**
 * The agent's cluster side, started after the jail service: etcd (the embedded member, or the
 * members' endpoints on a client host), the store, the host lease (membership), the leader
 * loop, the per-host reconciler, images, routes to the other hosts' jails, the services the
 * API calls, and (in a cluster) the mTLS listeners.
 *
 * `startRuntime` returns a ClusterRuntime whose parts all exist: nothing in it is null. A
 * start that fails part-way undoes what it started (sys/revert.ts). A single host runs the
 * same code against a one-member etcd on 127.0.0.1. `cluster init|join|leave` stop the
 * runtime, change the host's cluster configuration and start a new one (cluster.ts holds the
 * current one); jails keep running throughout.
 */
import { DEFAULT_POOL, listPoolRecords } from '../storage/pools.js';
import { poolSpace, type PoolSpace } from '../jail/disk.js';
import { cpus, totalmem } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { EmbeddedEtcd } from '../cluster/embedded-etcd.js';
import { clientUrl, etcdLayout } from '../cluster/etcd.js';
import { MEMBER_REMOVED_LOG } from '../cluster/etcd-errors.js';
import { EtcdStore } from '../cluster/etcd-store.js';
import { defaultHostName, readClusterConfig, type ClusterConfig } from '../cluster/config.js';
import { K } from '../cluster/keys.js';
import { overlaps, subnetKeyOf } from '../cluster/subnets.js';
import { parseSubnet } from '../jail/ipam.js';
import type { HostInfo, HostLive } from '../cluster/model.js';
import type { Store, StoreWatch } from '../cluster/store.js';
import { DEFAULT_HOST_TTL_SECONDS } from '../cluster/lease.js';
import { readTls, tlsDir, type TlsMaterial } from '../cluster/pki.js';
import type { JailService } from '../jail/service.js';
import type { Exec } from '../sys/exec.js';
import { UserError } from '../sys/errors.js';
import { logged, logWarn } from '../sys/log.js';
import { Revert } from '../sys/revert.js';
import { ImageService } from './images.js';
import { LeaderLoop } from './leader.js';
import { TcpListeners, type ApiServerFactory } from './listeners.js';
import { Membership } from './membership.js';
import { Reconciler } from './reconciler.js';
import { RouteSync } from './routes.js';
import { HostService } from './services/hosts.js';
import { StackService } from './services/stacks.js';
import { portProbe } from '../lb/port-probe.js';
import { readHostNetwork, type HostNetwork } from '../lb/host-network.js';
import { Keepalived } from '../lb/keepalived.js';
import { RolloutService } from './services/rollouts.js';
import { LbReconciler } from '../lb/reconciler.js';

export interface RuntimeDeps {
  dataDir: string;
  exec: Exec;
  log: Logger;
  jails: JailService;
  /** This host's jail subnet (CIDR), read at each start (a join may change it). */
  subnet: () => Promise<string>;
  version: string;
  /** Makes the mTLS API server of the listeners (the same routes as the unix socket). */
  apiServer: ApiServerFactory;
  /** Host lease TTL (default 3 s: a dead host is noticed within about that). */
  ttlSeconds?: number;
  /** Jail slots this host offers to the scheduler (default 250). */
  jailSlots?: number;
  /** Size and free bytes of the pool jails use; size is offered to the scheduler as disk (default: the default pool's file system; undefined: no pool yet). */
  poolBytes?: () => Promise<PoolSpace | undefined>;
  /** Reconciler and leader backstop interval (their defaults when unset). */
  intervalMs?: number;
  /** True while this host's HAProxy runs (keepalived gives the VIP up otherwise); default: the LB reconciler's answer. */
  haproxyRunning?: () => boolean;
}

/** The host lease TTL the agent uses (the one default, in cluster/lease.ts). */
export const DEFAULT_TTL_SECONDS = DEFAULT_HOST_TTL_SECONDS;
/** How often the embedded etcd member's process is checked (and started again if it died). */
const ETCD_CHECK_MS = 5000;
/** How often the pool's size (the disk offered to the scheduler) is read again. */
const POOL_SIZE_MS = 60_000;
/** Routes follow hostinfo/ through a watch; this pass repairs a route deleted by hand. */
const ROUTES_BACKSTOP_MS = 60_000;

export interface ClusterRuntime {
  readonly name: string;
  /** cluster.json; undefined on a single host. */
  readonly config: ClusterConfig | undefined;
  /** This host's certificates; undefined on a single host. */
  readonly tls: TlsMaterial | undefined;
  readonly subnet: string;
  readonly store: Store;
  readonly membership: Membership;
  readonly leader: LeaderLoop;
  readonly reconciler: Reconciler;
  readonly images: ImageService;
  readonly stacks: StackService;
  readonly hosts: HostService;
  /** Rollouts: status, history and undo (issue 9; the leader moves them on). */
  readonly rollouts: RolloutService;
  readonly routes: RouteSync;
  /** keepalived for lb.vip; `vipHeld()` says whether this host holds the VIP (for lbstate/<host>). */
  readonly vip: Keepalived;
  /** This host's HAProxy, driven by the cluster state (lb/reconciler.ts); haproxyRunning() for keepalived. */
  readonly lb: LbReconciler;
  live(): HostLive;
  /**
   * Stops everything but the jails (and etcd, which outlives the agent unless `stopEtcd`).
   * `revoke` ends the host lease at once (a clean stop); otherwise it expires by its TTL.
   */
  stop(opts: { revoke: boolean; stopEtcd?: boolean }): Promise<void>;
}

/** Starts the embedded etcd member (or adopts it), refusing clearly when it was removed. */
async function startEtcd(d: RuntimeDeps, c: ClusterConfig | undefined): Promise<{ etcd: EmbeddedEtcd; name: string; endpoint: string }> {
  const etcd = new EmbeddedEtcd({ dataDir: d.dataDir, name: c?.name ?? defaultHostName() });
  const member = await etcd.load();
  try {
    const r = await etcd.ensureRunning();
    d.log.info({ pid: r.pid, adopted: r.adopted, endpoint: clientUrl(member) }, r.adopted ? 'adopted the running etcd member' : 'started the etcd member');
  } catch (e) {
    // the member's own log says why it exited; a missing log adds nothing to e
    const text = await readFile(etcdLayout(d.dataDir).log, 'utf8').catch(() => '');
    if (c && text.includes(MEMBER_REMOVED_LOG)) {
      throw new UserError(`this host's etcd member was removed from cluster ${c.clusterId} (cellblock cluster remove ${c.name})`, 'to use the host again: stop the agent, run cellblock cluster leave --force (it becomes a single host), start the agent and join again with a fresh token');
    }
    throw e;
  }
  return { etcd, name: c?.name ?? member.name, endpoint: clientUrl(member) };
}

/** hostinfo/<name> (persistent) and the subnet claim, refusing a subnet another host holds. */
export async function claim(store: Store, info: HostInfo, c: ClusterConfig | undefined): Promise<void> {
  if (c && (await store.get(K.removed(info.name)))) {
    throw new UserError(
      `this host (${info.name}) was taken out of cluster ${c.clusterId} with cellblock cluster remove`,
      'to use it again: stop the agent, run cellblock cluster leave --force (it becomes a single host), start the agent and join again with a fresh token',
    );
  }
  const net = subnetKeyOf(info.subnet);
  const fix = 'give every host its own subnet: leave --subnet out when joining (the cluster hands out a free one), or pick one no other host uses';
  const owner = await store.getString(K.subnet(net));
  if (owner !== undefined && owner !== info.name) throw new UserError(`jail subnet ${info.subnet} of this host is already used by host ${owner}`, fix);
  const others = (await store.listJson<HostInfo>(K.hostsInfo)).map((e) => e.value);
  const mine = parseSubnet('subnet', info.subnet);
  const clash = others.find((h) => h.name !== info.name && overlaps(parseSubnet('subnet', h.subnet), mine));
  if (clash) throw new UserError(`jail subnet ${info.subnet} of this host overlaps host ${clash.name}'s ${clash.subnet}`, fix);
  // a host that comes back with another subnet gives its old one back
  const before = others.find((h) => h.name === info.name);
  const release = before && subnetKeyOf(before.subnet) !== net ? [{ delete: K.subnet(subnetKeyOf(before.subnet)) }] : [];
  await store.batch([...release, { put: K.subnet(net), value: info.name }, { put: K.hostInfo(info.name), value: JSON.stringify(info) }]);
}

export async function startRuntime(d: RuntimeDeps): Promise<ClusterRuntime> {
  const log = d.log;
  const config = await readClusterConfig(d.dataDir);
  const tls = config ? await readTls(tlsDir(d.dataDir)) : undefined;
  const subnet = await d.subnet();
  const startedAt = new Date().toISOString();
  return Revert.run(async (revert) => {
    let etcd: EmbeddedEtcd | undefined;
    let name: string;
    let endpoints: string[];
    if (!config || config.role === 'member') {
      const e = await startEtcd(d, config);
      etcd = e.etcd;
      name = e.name;
      endpoints = [e.endpoint];
    } else {
      name = config.name;
      endpoints = config.endpoints;
    }
    const store = EtcdStore.forHost(endpoints, tls);
    revert.add('close the etcd client', () => store.close());
    const poolBytes = d.poolBytes ?? (() => defaultPoolSpace(d.dataDir));
    let disk = await poolBytes();
    // lb (helper "vip"): the network and interface of the advertise address, published in HostLive
    let hostNet: HostNetwork | undefined;
    if (config) hostNet = await readHostNetwork(d.exec, config.address).catch((err: unknown) => { logWarn(log, err, 'finding the interface of the advertise address failed; no floating address (lb.vip) on this host'); return undefined; });
    const live = (): HostLive => ({
      name, address: config?.address ?? '127.0.0.1', apiPort: config?.apiPort ?? 0, subnet,
      capacity: { memoryBytes: totalmem(), cpus: cpus().length, jails: d.jailSlots ?? 250, ...(disk ? { diskBytes: disk.size } : {}) },
      ...(disk ? { diskFreeBytes: disk.free } : {}),
      etcd: config ? config.role : 'single', version: d.version, startedAt,
      ...(hostNet ? { network: hostNet.network, interface: hostNet.interface } : {}),
    });
    await claim(store, { name, address: live().address, apiPort: live().apiPort, subnet, joinedAt: config?.joinedAt ?? startedAt }, config);

    const images = new ImageService({ store, host: name, dataDir: d.dataDir, exec: d.exec, log: log.child({ component: 'images' }), tls });
    revert.add('stop watching images', () => images.close());
    const interval = d.intervalMs ? { intervalMs: d.intervalMs } : {};
    const reconciler = new Reconciler({
      store, host: name, dataDir: d.dataDir, jails: d.jails, log: log.child({ component: 'reconciler' }),
      pull: async (image) => { await images.pull(image); }, ...interval,
    });
    const leader = new LeaderLoop({ store, name, log: log.child({ component: 'leader' }), ...interval });
    const membership = new Membership({ store, leases: store, name, ttlSeconds: d.ttlSeconds ?? DEFAULT_TTL_SECONDS, value: live, log: log.child({ component: 'membership' }) });
    membership.onLease((lease) => {
      reconciler.useLease(lease);
      leader.follow(lease);
      void images.useLease(lease).catch(logged(log, 'announcing images on a new lease failed; the next image change retries'));
    });
    await reconciler.start();
    revert.add('stop the reconciler', () => reconciler.stop());
    // load balancer (issue 9): HAProxy follows the cluster state; lbstate/<host> goes on the host lease.
    // HAProxy itself outlives the agent (stop() leaves it running, like the jails).
    // keepalived (below) is made after HAProxy's reconciler and says whether this host holds the VIP
    let vipHeld: () => boolean = () => false;
    const lb = new LbReconciler({ store, host: name, dataDir: d.dataDir, exec: d.exec, log: log.child({ component: 'lb' }), ...interval, vipHeld: () => vipHeld() });
    membership.onLease((lease) => lb.useLease(lease));
    await lb.start();
    revert.add('stop the LB reconciler', () => lb.stop());
    revert.add('stop the leader loop', () => leader.stop());
    await images.watchLocal();
    if (!(await membership.start())) log.warn('no host lease yet (is a majority of the etcd members up?); the agent serves its jails meanwhile and keeps trying');
    revert.add('stop the membership', () => membership.stop({ revoke: false }));

    // ---- lb (helper "vip"): keepalived for lb.vip, following `lb` and `hostinfo/` ----
    // The track file says 0 while HAProxy runs (the LB reconciler's answer, or d.haproxyRunning
    // in tests) and this agent holds its lease.
    const vip = new Keepalived({
      dataDir: d.dataDir, exec: d.exec, log: log.child({ component: 'keepalived' }),
      leaseHeld: () => membership.lease !== undefined,
      haproxyRunning: d.haproxyRunning ?? (() => lb.haproxyRunning()),
    });
    vipHeld = () => vip.vipHeld();
    lb.onRunning(() => vip.trackNow());
    if (config) {
      revert.add('stop following lb.vip', () => vip.stop());
      await vip.follow(store, { name, address: config.address, ...(hostNet ? { network: hostNet.network, interface: hostNet.interface } : {}) });
    } else {
      await vip.apply(undefined, 'a single host has no floating address'); // ends one left by a cluster this host left
    }
    // ---- end lb (vip) ----

    const routes = new RouteSync(d.exec, log.child({ component: 'routes' }));
    const timers: NodeJS.Timeout[] = [];
    revert.add('stop the timers', () => timers.forEach((t) => clearInterval(t)));
    let hostWatch: StoreWatch | undefined;
    let routing: Promise<void> | undefined;
    let stopping = false;
    // one sync at a time, none once stopping (a late one could put routes back after a leave)
    const syncRoutes = (): Promise<void> => {
      if (stopping) return Promise.resolve();
      routing = (routing ?? Promise.resolve()).then(() => (stopping ? undefined : store.listJson<HostInfo>(K.hostsInfo)
        .then((hosts) => routes.sync(name, hosts.map((e) => e.value)))
        .catch(logged(log, 'syncing routes to the other hosts failed; the next host change or the backstop retries'))));
      return routing;
    };
    let listeners: TcpListeners | undefined;
    if (config && tls) {
      hostWatch = await store.watchPrefix(K.hostsInfo, () => void syncRoutes());
      revert.add('stop watching hosts', () => hostWatch?.cancel());
      await syncRoutes();
      timers.push(setInterval(() => void syncRoutes(), ROUTES_BACKSTOP_MS));
      listeners = new TcpListeners({ config, tls, dataDir: d.dataDir, exec: d.exec, log: log.child({ component: 'api-tcp' }), store, apiServer: d.apiServer });
      await listeners.start();
      revert.add('stop the listeners', () => listeners?.stop());
    }
    // the pool is made on the first jail, after the agent started: its size is published from then on
    const refreshDisk = async () => {
      const b = await poolBytes();
      if (b?.size === disk?.size && b?.free === disk?.free) return;
      disk = b;
      await membership.update();
    };
    timers.push(setInterval(() => void refreshDisk().catch(logged(log, 'reading the pool\'s size failed; the last one known stays published')), POOL_SIZE_MS));
    let etcdCheck: Promise<void> | undefined;
    if (etcd) {
      const member = etcd;
      const keepEtcd = async () => {
        if (stopping || (await member.pid()) !== undefined) return;
        log.warn('the etcd member of this host is not running; starting it again');
        await member.ensureRunning().then(() => undefined, logged(log, 'starting etcd again failed; retrying in 5 s', 'error'));
      };
      timers.push(setInterval(() => { etcdCheck ??= keepEtcd().finally(() => { etcdCheck = undefined; }); }, ETCD_CHECK_MS));
    }
    for (const t of timers) t.unref();
    log.info({ host: name, role: config?.role ?? 'single', endpoints }, 'cluster runtime started');

    const stop = async (o: { revoke: boolean; stopEtcd?: boolean }) => {
      stopping = true;
      for (const t of timers) clearInterval(t);
      const step = (what: string) => logged(log, `stopping: ${what} failed; going on with the rest`);
      await listeners?.stop().catch(step('the listeners'));
      await hostWatch?.cancel().catch(step('the hosts watch'));
      await routing;
      await vip.stop().catch(step('following lb.vip'));
      await leader.stop().catch(step('the leader loop'));
      await reconciler.stop().catch(step('the reconciler'));
      await lb.stop().catch(step('the LB reconciler'));
      await membership.stop({ revoke: o.revoke }).catch(step('the membership'));
      images.close();
      await etcdCheck;
      await store.close().catch(step('the etcd client'));
      if (o.stopEtcd) await etcd?.stop();
    };
    return {
      name, config, tls, subnet, store, membership, leader, reconciler, images, routes, vip, lb, live, stop,
      // lb (issue 9, spec): apply asks every live host whether a port it would publish is taken
      stacks: new StackService({ store, images, log: log.child({ component: 'stacks' }), ports: portProbe({ store, host: name, tls }) }),
      hosts: new HostService(store),
      rollouts: new RolloutService({ store, log: log.child({ component: 'rollouts' }) }),
    };
  });
}

/** Removes every route cellblock made (leaving a cluster); a failure is logged, not thrown. */
export async function clearRoutes(exec: Exec, log: Logger): Promise<void> {
  await new RouteSync(exec, log).clear().catch((err: unknown) => logWarn(log, err, 'removing the routes to the other hosts failed; remove them with: ip route flush proto 77'));
}

/** Size and free bytes of the default pool's file system, or undefined while this host has no pool. */
async function defaultPoolSpace(dataDir: string): Promise<PoolSpace | undefined> {
  const rec = (await listPoolRecords(dataDir)).find((p) => p.name === DEFAULT_POOL);
  return rec ? poolSpace(rec.mountpoint) : undefined;
}
