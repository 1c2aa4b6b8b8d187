/**
 * The agent's cluster side, started after the jail service: etcd (the embedded member, or the
 * members' endpoints on a client host), the store, the host lease (membership), the leader
 * loop, the per-host reconciler, image announcements and routes to the other hosts' jails.
 *
 * A single host runs the same code against a one-member etcd on 127.0.0.1, so `apply` works
 * before any cluster exists. `cluster init|join|leave` stop this runtime, change the host's
 * cluster configuration and start it again; jails keep running throughout.
 */
import { cpus, totalmem } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { EmbeddedEtcd } from '../cluster/embedded-etcd.js';
import { clientUrl, etcdLayout } from '../cluster/etcd.js';
import { defaultHostName, readClusterConfig, type ClusterConfig } from '../cluster/config.js';
import { K, type HostInfo, type HostLive } from '../cluster/model.js';
import { Store, type StoreWatch } from '../cluster/store.js';
import { DEFAULT_HOST_TTL_SECONDS } from '../cluster/lease.js';
import type { TlsMaterial } from '../api/peer.js';
import type { JailService } from '../jail/service.js';
import { readTls, tlsDir } from '../cluster/pki.js';
import type { Exec } from '../sys/exec.js';
import { UserError } from '../sys/errors.js';
import { RequestError } from '../api/errors.js';
import { ImageService } from './images.js';
import { LeaderLoop } from './leader.js';
import { Membership } from './membership.js';
import { Reconciler } from './reconciler.js';
import { RouteSync } from './routes.js';

export interface ClusterRuntimeOptions {
  dataDir: string;
  exec: Exec;
  log: Logger;
  jails: JailService;
  /** This host's jail subnet (CIDR). */
  subnet: string;
  version: string;
  /** Host lease TTL (default 3 s: a dead host is noticed within about that). */
  ttlSeconds?: number;
  /** Jail slots this host offers to the scheduler (default 250). */
  jailSlots?: number;
  /** Reconciler and leader backstop interval (default 2000 ms). */
  intervalMs?: number;
}

/** The host lease TTL the agent uses (the one default, in cluster/lease.ts). */
export const DEFAULT_TTL_SECONDS = DEFAULT_HOST_TTL_SECONDS;

export class ClusterRuntime {
  config: ClusterConfig | undefined;
  name = '';
  store: Store | undefined;
  etcd: EmbeddedEtcd | undefined;
  tls: TlsMaterial | undefined;
  membership: Membership | undefined;
  leader: LeaderLoop | undefined;
  reconciler: Reconciler | undefined;
  images: ImageService | undefined;
  private hostWatch: StoreWatch | undefined;
  private routes: RouteSync;
  private announceTimer: NodeJS.Timeout | undefined;
  private startedAt = new Date().toISOString();
  private stopping = false;
  /** A running keepEtcd(), awaited by stop() so that no restart lands after it. */
  private etcdCheck: Promise<void> | undefined;

  constructor(readonly o: ClusterRuntimeOptions) {
    this.routes = new RouteSync(o.exec, o.log.child({ component: 'routes' }));
  }

  get log(): Logger {
    return this.o.log;
  }

  /** The store, or a clear error while the runtime is (re)starting. */
  requireStore(): Store {
    if (!this.store) throw new RequestError(503, 'the agent is not connected to the cluster state right now (etcd is starting or the host is changing clusters)', 'try again in a few seconds; see the agent log if it persists');
    return this.store;
  }

  requireTls(): TlsMaterial {
    if (!this.tls) throw new UserError('this host is not in a cluster', 'run cellblock cluster init (first host) or cellblock cluster join ADDR --token T');
    return this.tls;
  }

  live(): HostLive {
    const c = this.config;
    return {
      name: this.name,
      address: c?.address ?? '127.0.0.1',
      apiPort: c?.apiPort ?? 0,
      subnet: this.o.subnet,
      capacity: { memoryBytes: totalmem(), cpus: cpus().length, jails: this.o.jailSlots ?? 250 },
      etcd: c ? c.role : 'single',
      version: this.o.version,
      startedAt: this.startedAt,
    };
  }

  info(): HostInfo {
    const l = this.live();
    return { name: l.name, address: l.address, apiPort: l.apiPort, subnet: l.subnet, joinedAt: this.config?.joinedAt ?? this.startedAt };
  }

  async start(): Promise<void> {
    this.stopping = false;
    const log = this.o.log;
    this.config = await readClusterConfig(this.o.dataDir);
    const c = this.config;
    this.tls = c ? await readTls(tlsDir(this.o.dataDir)) : undefined;
    let endpoints: string[];
    if (!c || c.role === 'member') {
      this.etcd = new EmbeddedEtcd({ dataDir: this.o.dataDir, name: c?.name ?? defaultHostName() });
      const member = await this.etcd.load();
      this.name = c?.name ?? member.name;
      const r = await this.etcd.ensureRunning().catch(async (e: unknown) => {
        const log = await readFile(etcdLayout(this.o.dataDir).log, 'utf8').catch(() => '');
        if (c && log.includes('the member has been permanently removed from the cluster')) {
          throw new UserError(`this host's etcd member was removed from cluster ${c.clusterId} (cellblock cluster remove ${c.name})`, 'to use the host again: stop the agent, run cellblock cluster leave --force (it becomes a single host), start the agent and join again with a fresh token');
        }
        throw e;
      });
      log.info({ pid: r.pid, adopted: r.adopted, endpoint: clientUrl(member) }, r.adopted ? 'adopted the running etcd member' : 'started the etcd member');
      endpoints = [clientUrl(member)];
    } else {
      this.etcd = undefined;
      this.name = c.name;
      endpoints = c.endpoints;
    }
    const tls = this.tls;
    const store = Store.connect(endpoints, tls ? { credentials: { rootCertificate: tls.ca, certChain: tls.cert, privateKey: tls.key } } : {});
    this.store = store;
    await this.claim(store);

    this.images = new ImageService({ store, host: this.name, dataDir: this.o.dataDir, exec: this.o.exec, log: log.child({ component: 'images' }), tls: () => this.tls });
    const images = this.images;
    this.reconciler = new Reconciler({
      store, host: this.name, dataDir: this.o.dataDir, jails: this.o.jails, log: log.child({ component: 'reconciler' }),
      pull: async (image) => { await images.pull(image); },
      ...(this.o.intervalMs ? { intervalMs: this.o.intervalMs } : {}),
    });
    this.leader = new LeaderLoop({ store, name: this.name, log: log.child({ component: 'leader' }), ...(this.o.intervalMs ? { intervalMs: this.o.intervalMs } : {}) });
    this.membership = new Membership({ store, name: this.name, ttlSeconds: this.o.ttlSeconds ?? DEFAULT_TTL_SECONDS, value: () => this.live(), log: log.child({ component: 'membership' }) });
    const leader = this.leader;
    const reconciler = this.reconciler;
    this.membership.onLease((lease) => {
      reconciler.useLease(lease);
      leader.follow(lease);
      void images.useLease(lease).catch((err: Error) => log.warn({ err: { message: err.message } }, 'announcing images failed'));
    });
    await reconciler.start();
    if (!(await this.membership.start())) log.warn('no host lease yet (is a majority of the etcd members up?); the agent serves its jails meanwhile and keeps trying');
    if (c) {
      this.hostWatch = await store.watchPrefix(K.hostsInfo, () => void this.syncRoutes());
      await this.syncRoutes();
    }
    const tick = () => {
      void images.announce().catch(() => {});
      this.etcdCheck ??= this.keepEtcd().finally(() => { this.etcdCheck = undefined; });
      if (c) void this.syncRoutes();
      this.announceTimer = setTimeout(tick, 5000);
      this.announceTimer.unref();
    };
    this.announceTimer = setTimeout(tick, 5000);
    this.announceTimer.unref();
    log.info({ host: this.name, role: c?.role ?? 'single', endpoints }, 'cluster runtime started');
  }

  /** Starts this host's etcd member again if it died while the agent runs. */
  private async keepEtcd(): Promise<void> {
    const etcd = this.etcd;
    if (!etcd || this.stopping || (await etcd.pid()) !== undefined) return;
    this.o.log.warn('the etcd member of this host is not running; starting it again');
    await etcd.ensureRunning().catch((err: Error) => this.o.log.error({ err: { message: err.message } }, 'starting etcd again failed; retrying'));
  }

  /** hostinfo/<name> (persistent) and the subnet claim, refusing a subnet another host holds. */
  private async claim(store: Store): Promise<void> {
    const info = this.info();
    if (this.config && (await store.get(K.removed(this.name)))) {
      throw new UserError(
        `this host (${this.name}) was taken out of cluster ${this.config.clusterId} with cellblock cluster remove`,
        'to use it again: stop the agent, run cellblock cluster leave --force (it becomes a single host), start the agent and join again with a fresh token',
      );
    }
    const net = info.subnet.split('/')[0]!;
    const owner = await store.getString(K.subnet(net));
    if (owner !== undefined && owner !== this.name) {
      throw new UserError(`jail subnet ${info.subnet} of this host is already used by host ${owner}`, `give every host its own subnet: start this agent with --subnet 10.77.N.0/24 for an N no other host uses (and no jails yet)`);
    }
    await store.batch([{ put: K.subnet(net), value: this.name }, { put: K.hostInfo(this.name), value: JSON.stringify(info) }]);
  }

  async syncRoutes(): Promise<void> {
    const store = this.store;
    if (!store || !this.config) return;
    try {
      const hosts = (await store.getPrefix(K.hostsInfo)).kvs.map((kv) => JSON.parse(kv.value) as HostInfo);
      await this.routes.sync(this.name, hosts);
    } catch (err) {
      this.o.log.warn({ err: { message: (err as Error).message } }, 'syncing routes to the other hosts failed; retrying');
    }
  }

  async clearRoutes(): Promise<void> {
    await this.routes.clear().catch(() => {});
  }

  /**
   * Stops everything but the jails (and etcd, which outlives the agent unless `stopEtcd`).
   * `revoke` ends the host lease at once (a clean stop); otherwise it expires by its TTL.
   */
  async stop(opts: { revoke: boolean; stopEtcd?: boolean }): Promise<void> {
    this.stopping = true;
    if (this.announceTimer) clearTimeout(this.announceTimer);
    await this.hostWatch?.cancel().catch(() => {});
    await this.leader?.stop().catch(() => {});
    await this.reconciler?.stop().catch(() => {});
    await this.membership?.stop({ revoke: opts.revoke }).catch(() => {});
    this.images?.release();
    await this.etcdCheck;
    await this.store?.close().catch(() => {});
    this.store = undefined;
    if (opts.stopEtcd) await this.etcd?.stop();
  }
}
