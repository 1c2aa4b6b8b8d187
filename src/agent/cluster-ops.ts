/**
 * cluster init | join | leave | remove, as the agent carries them out. Each stops the cluster
 * runtime (never the jails), changes the host's etcd member record, certificates and
 * cluster.json, and starts a new runtime. Every step that changes something registers its
 * undo (sys/revert.ts): a failure part-way removes the learner this host was added as, and
 * puts the host back to a single host, so it is never left half in a cluster.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DEFAULT_API_PORT, DEFAULT_JOIN_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT, clusterConfigPath, writeClusterConfig, type ClusterConfig } from '../cluster/config.js';
import { EmbeddedEtcd, freePortPair } from '../cluster/embedded-etcd.js';
import { EtcdStore } from '../cluster/etcd-store.js';
import { urlHost, type EtcdMember } from '../cluster/etcd.js';
import { K } from '../cluster/keys.js';
import { etcdErrorKind } from '../cluster/etcd-errors.js';
import type { HostInfo, HostLive } from '../cluster/model.js';
import { parseDisk } from '../jail/model.js';
import { createCa, createKeyAndCsr, etcdTlsFiles, issueHostCert, readTls, tlsDir, tlsPaths, writeHostCert, type TlsMaterial } from '../cluster/pki.js';
import type { Store } from '../cluster/store.js';
import { fetchPeerCa, parseToken } from '../cluster/token.js';
import { UserError } from '../sys/errors.js';
import type { Exec } from '../sys/exec.js';
import { logError, logged } from '../sys/log.js';
import { checkName } from '../sys/names.js';
import { parseSubnet } from '../jail/ipam.js';
import { DEFAULT_CLUSTER_RANGE, parseOvercommit, parseRange, subnetKeyOf, type ClusterSettings } from '../cluster/subnets.js';
import { Revert } from '../sys/revert.js';
import { checkAddress, checkPortsFree, defaultAdvertise } from './cluster-checks.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ClusterSummary } from './services/hosts.js';
import { issueToken, newClusterId, type JoinResponse } from './join.js';
import { postJoin } from '../api/peer.js';

export { checkEtcdPorts, checkPortsFree, defaultAdvertise } from './cluster-checks.js';
export type { ClusterSummary } from './services/hosts.js';

/** What ops do with the runtime: the current one, stop it, start a new one (cluster.ts). */
export interface RuntimeControl {
  current(): ClusterRuntime;
  peek(): ClusterRuntime | undefined;
  start(): Promise<ClusterRuntime>;
  stop(o: { revoke: boolean; stopEtcd?: boolean }): Promise<void>;
}

/** This host's etcd member as ops change it (cluster/embedded-etcd.ts). */
export interface EtcdControl {
  wipe(): Promise<void>;
  configure(c: EtcdMember): Promise<unknown>;
  ensureRunning(): Promise<unknown>;
  stop(): Promise<void>;
}

/** Everything outside this module that ops touch: real by default, recorded in tests. */
export interface OpsDeps {
  dataDir: string;
  exec: Exec;
  log: Logger;
  runtime: RuntimeControl;
  /** This host's jail subnet now. */
  subnet: () => Promise<string>;
  /** The agent was started with --subnet: joins keep it instead of taking one from the cluster. */
  subnetFixed: boolean;
  /** Whether this host has jails (its subnet cannot change under them). */
  hasJails: () => Promise<boolean>;
  /** Changes this host's jail subnet (host.json, the bridge); only without jails. */
  setSubnet: (cidr: string) => Promise<void>;
  etcd: () => EtcdControl;
  connect: (endpoints: string[], tls: TlsMaterial) => Store;
  checkPorts: (address: string, ports: readonly number[]) => Promise<void>;
  advertise: (jailSubnet: string) => string;
  pki: {
    createCa: typeof createCa; issueHostCert: typeof issueHostCert; createKeyAndCsr: typeof createKeyAndCsr;
    writeHostCert: typeof writeHostCert; readTls: typeof readTls;
  };
  fetchPeerCa: typeof fetchPeerCa;
  postJoin: (address: string, port: number, caPem: string, body: unknown) => Promise<JoinResponse>;
  /** Removes cellblock's routes to other hosts (a host leaving). */
  clearRoutes: () => Promise<void>;
  freePorts: () => Promise<[number, number]>;
}

/** The real dependencies, for the agent. */
export function realOpsDeps(o: Pick<OpsDeps, 'dataDir' | 'exec' | 'log' | 'runtime' | 'subnet' | 'subnetFixed' | 'hasJails' | 'setSubnet' | 'clearRoutes'>): OpsDeps {
  return {
    ...o,
    etcd: () => new EmbeddedEtcd({ dataDir: o.dataDir }),
    connect: (endpoints, tls) => EtcdStore.forHost(endpoints, tls),
    checkPorts: checkPortsFree,
    advertise: (subnet) => defaultAdvertise(subnet),
    pki: { createCa, issueHostCert, createKeyAndCsr, writeHostCert, readTls },
    fetchPeerCa,
    postJoin,
    freePorts: freePortPair,
  };
}

export interface InitOptions {
  advertise?: string; name?: string; apiPort?: number; joinPort?: number;
  /** The range joining hosts get their jail subnets from (default 10.77.0.0/16). */
  range?: string;
  /** Disk overcommit ratio (default 1: none). */
  overcommit?: string | number;
  /** Disk limit of a replica whose service sets none (default 1G). */
  defaultDisk?: string;
}
export interface JoinOptions {
  address: string; token: string; advertise?: string; name?: string; joinPort?: number; apiPort?: number;
  /** Keep this jail subnet instead of taking the next free one of the cluster's range. */
  subnet?: string;
}

/** Removes an etcd member; one that is gone already counts as removed. */
async function removeIfThere(store: Store, id: string): Promise<void> {
  try {
    await store.removeMember(id);
  } catch (e) {
    if (etcdErrorKind(e) !== 'member-not-found') throw e;
  }
}

export class ClusterOps {
  private busy: string | undefined;

  constructor(private readonly d: OpsDeps) {}

  private get rt(): ClusterRuntime {
    return this.d.runtime.current();
  }

  /** One cluster operation at a time: each stops and restarts the runtime. */
  private async exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new UserError(`cluster ${this.busy} is running on this host`, `wait for it to finish, then run cluster ${what} again`);
    this.busy = what;
    try {
      return await fn();
    } finally {
      this.busy = undefined;
    }
  }

  summary(): ClusterSummary {
    const rt = this.d.runtime.peek();
    const c = rt?.config;
    return { clusterId: c?.clusterId ?? null, name: rt?.name ?? '', role: c?.role ?? 'single', address: c?.address ?? null, apiPort: c?.apiPort ?? null };
  }

  async status() {
    return this.rt.hosts.clusterStatus(this.summary());
  }

  async token(ttlSeconds?: number): Promise<{ token: string; expiresAt: string }> {
    const rt = this.rt;
    if (!rt.tls) throw new UserError('this host is not in a cluster', 'run cellblock cluster init (first host) or cellblock cluster join ADDR --token T');
    return issueToken(rt.store, rt.tls.ca, ttlSeconds);
  }

  private refuseIfClustered(): void {
    const c = this.rt.config;
    if (c) throw new UserError(`this host is already in cluster ${c.clusterId} as ${c.name}`, 'see cellblock cluster status; to start over here: cellblock cluster leave');
  }

  /** A host with applied stacks would lose them: its etcd is replaced. */
  private async refuseIfStacks(): Promise<void> {
    const kvs = await this.rt.store.getPrefix(K.stacks);
    if (kvs.kvs.length > 0) {
      const names = kvs.kvs.map((kv) => kv.key.slice(K.stacks.length));
      throw new UserError(`this host has stacks applied (${names.join(', ')}); they would be lost when its state moves into the cluster`, 'delete them first (cellblock delete -f FILE), then apply them again once the host is in the cluster');
    }
  }

  /** The TLS dir, emptied, with an undo that removes it again. */
  private async freshTlsDir(revert: Revert): Promise<string> {
    const dir = tlsDir(this.d.dataDir);
    await rm(dir, { recursive: true, force: true });
    revert.add('remove the certificates made for the cluster', () => rm(dir, { recursive: true, force: true }));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  init(o: InitOptions): Promise<ClusterSummary> {
    return this.exclusive('init', () => Revert.run((revert) => this.doInit(o, revert)));
  }

  private async doInit(o: InitOptions, revert: Revert): Promise<ClusterSummary> {
    this.refuseIfClustered();
    const subnet = await this.d.subnet();
    const address = checkAddress('--advertise', o.advertise ?? this.d.advertise(subnet));
    const name = checkName('host', o.name ?? this.rt.name);
    const range = parseRange('--range', o.range ?? DEFAULT_CLUSTER_RANGE).cidr;
    const overcommit = o.overcommit === undefined ? undefined : parseOvercommit('--overcommit', o.overcommit);
    const defaultDisk = o.defaultDisk === undefined ? undefined : parseDisk('--default-disk', o.defaultDisk);
    await this.refuseIfStacks();
    const clusterId = newClusterId();
    const cfg: ClusterConfig = {
      clusterId, name, address, apiPort: o.apiPort ?? DEFAULT_API_PORT, joinPort: o.joinPort ?? DEFAULT_JOIN_PORT,
      role: 'member', endpoints: [`https://${urlHost(address)}:${ETCD_CLIENT_PORT}`], joinedAt: new Date().toISOString(),
    };
    await this.d.checkPorts(address, [ETCD_CLIENT_PORT, ETCD_PEER_PORT, cfg.apiPort, cfg.joinPort]);
    const dir = await this.freshTlsDir(revert);
    await this.d.pki.createCa(this.d.exec, dir, clusterId);
    await this.d.pki.issueHostCert(this.d.exec, dir, { host: name, addresses: [address] });
    await this.switchTo(revert, cfg, `${name}=https://${urlHost(address)}:${ETCD_PEER_PORT}`, 'new');
    const settings: ClusterSettings = { jailRange: range, ...(overcommit !== undefined ? { overcommit } : {}), ...(defaultDisk !== undefined ? { defaultDisk } : {}) };
    await this.rt.store.putJson(K.settings, settings);
    this.d.log.info({ clusterId, name, address, range }, 'cluster initialised: this host is its first etcd member');
    return this.summary();
  }

  join(o: JoinOptions): Promise<ClusterSummary & { members: number }> {
    return this.exclusive('join', () => Revert.run((revert) => this.doJoin(o, revert)));
  }

  private async doJoin(o: JoinOptions, revert: Revert): Promise<ClusterSummary & { members: number }> {
    this.refuseIfClustered();
    const server = checkAddress('ADDR', o.address);
    const subnet = await this.d.subnet();
    const address = checkAddress('--advertise', o.advertise ?? this.d.advertise(subnet));
    const name = checkName('host', o.name ?? this.rt.name);
    const tok = parseToken(o.token);
    const wanted = o.subnet !== undefined ? parseSubnet('--subnet', o.subnet).cidr : undefined;
    if (wanted !== undefined && wanted !== subnet && this.d.subnetFixed) {
      throw new UserError(`--subnet ${wanted}: this host's agent was started with --subnet ${subnet}`, `join with --subnet ${subnet} (or without --subnet), or start the agent without --subnet first`);
    }
    if (wanted !== undefined && wanted !== subnet && (await this.d.hasJails())) {
      throw new UserError(`--subnet ${wanted}: this host's jails use ${subnet}`, `join with --subnet ${subnet}, or remove the jails first`);
    }
    // a subnet that cannot change (jails use it, or the agent was started with --subnet) is kept
    const keep = wanted ?? (this.d.subnetFixed || (await this.d.hasJails()) ? subnet : undefined);
    await this.refuseIfStacks();
    const joinPort = o.joinPort ?? DEFAULT_JOIN_PORT;
    const apiPort = o.apiPort ?? DEFAULT_API_PORT;
    // before the cluster changes anything for us: every port this host will listen on
    await this.d.checkPorts(address, [ETCD_CLIENT_PORT, ETCD_PEER_PORT, apiPort, joinPort]);
    const dir = await this.freshTlsDir(revert);
    const csr = await this.d.pki.createKeyAndCsr(this.d.exec, dir, name);
    const ca = await this.d.fetchPeerCa(server, joinPort, tok.caFpPrefix);
    const resp = await this.d.postJoin(server, joinPort, ca, { token: o.token, name, address, ...(keep !== undefined ? { subnet: keep } : {}), csr });
    await this.d.pki.writeHostCert(dir, { ca: resp.ca, cert: resp.cert });
    if (resp.caKey) await writeFile(tlsPaths(dir).caKey, resp.caKey, { mode: 0o600 });
    // from here the cluster has changed for us: the undos give back what it reserved
    const own = `https://${urlHost(address)}:${ETCD_CLIENT_PORT}`;
    const others = resp.endpoints.filter((u) => u !== own);
    const members = this.d.connect(others, await this.d.pki.readTls(dir));
    revert.add('close the client of the other members', () => members.close());
    revert.add(`give back jail subnet ${resp.subnet} and forget ${name}`, async () => {
      const key = K.subnet(subnetKeyOf(resp.subnet));
      await members.txn([{ key, target: 'Value', op: '==', value: name }], [{ delete: key }]);
      // the cluster refused the join while a host of this name was known: these records are ours
      await members.batch([{ delete: K.hostInfo(name) }, { delete: K.hostCtl(name) }, { delete: K.placement(name) }]);
    });
    // the learner this host was added as does not count towards the quorum: removing it
    // always works, and a failed join must not leave it behind
    if (resp.memberId) revert.add('remove the learner this host was added as', () => removeIfThere(members, resp.memberId!));
    const cfg: ClusterConfig = {
      clusterId: resp.clusterId, name, address, apiPort, joinPort,
      role: resp.role, endpoints: resp.endpoints, joinedAt: new Date().toISOString(),
    };
    await this.switchTo(revert, cfg, resp.initialCluster, 'existing', resp.memberId ? { memberId: resp.memberId, store: members } : undefined, resp.subnet !== subnet ? { from: subnet, to: resp.subnet } : undefined);
    await members.close().catch(logged(this.d.log, 'closing the client of the other members failed; nothing else uses it'));
    this.d.log.info({ clusterId: resp.clusterId, name, role: resp.role, subnet: resp.subnet }, 'joined the cluster');
    return { ...this.summary(), members: resp.endpoints.length };
  }

  /**
   * Stops the runtime, replaces etcd's member record and data, writes cluster.json and starts a
   * new runtime. Undos (newest first): the learner is removed, then the host goes back to a
   * single host.
   */
  private async switchTo(revert: Revert, cfg: ClusterConfig, initialCluster: string | null, state: 'new' | 'existing', learner?: { memberId: string; store: Store }, subnet?: { from: string; to: string }): Promise<void> {
    const single = this.rt.name;
    try {
      await this.d.runtime.stop({ revoke: true, stopEtcd: true });
      revert.add('go back to a single host', () => this.resetToSingle(single));
      if (subnet) {
        // undone before the single host starts again, so it starts with its own subnet
        await this.d.setSubnet(subnet.to);
        revert.add(`put the jail subnet back to ${subnet.from}`, () => this.d.setSubnet(subnet.from));
        this.d.log.info(subnet, 'this host\'s jail subnet is now the one the cluster handed out');
      }
      const etcd = this.d.etcd();
      await etcd.stop();
      await etcd.wipe();
      if (cfg.role === 'member') {
        if (learner) await this.d.checkPorts(cfg.address, [ETCD_CLIENT_PORT, ETCD_PEER_PORT]);
        await etcd.configure({
          name: cfg.name, clientPort: ETCD_CLIENT_PORT, peerPort: ETCD_PEER_PORT,
          cluster: { address: cfg.address, initialCluster: initialCluster ?? '', initialState: state, clusterId: cfg.clusterId, tls: etcdTlsFiles(tlsDir(this.d.dataDir)) },
        });
        if (learner) {
          // promoted once it has caught up; only then does it count towards the quorum
          const stopPromoting = new AbortController();
          await Promise.all([
            etcd.ensureRunning().catch((e: unknown) => { stopPromoting.abort(); throw e; }),
            learner.store.promoteLearner(learner.memberId, stopPromoting.signal),
          ]);
          // a voting member now: a failure after this removes it while this host's etcd still
          // runs (first of the undos), so the cluster keeps its quorum
          revert.add('remove this host\'s etcd member', () => removeIfThere(learner.store, learner.memberId));
        }
      }
      await writeClusterConfig(this.d.dataDir, cfg);
      await this.d.runtime.start();
    } catch (e) {
      logError(this.d.log, e, 'could not start in the cluster; undoing the change (back to a single host)');
      throw e;
    }
  }

  /** Back to a single host: a fresh one-member etcd on 127.0.0.1, no certificates. */
  private async resetToSingle(name: string): Promise<void> {
    await this.d.runtime.stop({ revoke: false, stopEtcd: true });
    await this.d.clearRoutes();
    const etcd = this.d.etcd();
    await etcd.stop();
    await etcd.wipe();
    const [clientPort, peerPort] = await this.d.freePorts();
    await etcd.configure({ name, clientPort, peerPort });
    await rm(clusterConfigPath(this.d.dataDir), { force: true });
    await rm(tlsDir(this.d.dataDir), { recursive: true, force: true });
    await this.d.runtime.start();
  }

  /** Leaves the cluster: out of etcd's membership and the host list, back to a single host. */
  leave(): Promise<ClusterSummary> {
    return this.exclusive('leave', () => this.doLeave());
  }

  private async doLeave(): Promise<ClusterSummary> {
    const rt = this.rt;
    const c = rt.config;
    if (!c) throw new UserError('this host is not in a cluster', 'nothing to leave');
    await this.forget(rt.store, c.name);
    if (c.role === 'member') {
      const members = await rt.store.members();
      const me = members.find((m) => m.name === c.name);
      if (me && members.length > 1) await rt.store.removeMember(me.id);
    }
    await this.resetToSingle(rt.name);
    this.d.log.info({ clusterId: c.clusterId }, 'left the cluster; this is a single host again');
    return this.summary();
  }

  /** Removes another host (a dead one, or one that cannot leave by itself). */
  remove(host: string, o: { force?: boolean } = {}): Promise<{ removed: string; wasMember: boolean }> {
    return this.exclusive('remove', () => this.doRemove(host, o));
  }

  private async doRemove(host: string, o: { force?: boolean }): Promise<{ removed: string; wasMember: boolean }> {
    const rt = this.rt;
    const c = rt.config;
    if (!c) throw new UserError('this host is not in a cluster', 'cellblock cluster remove works on a cluster host');
    const name = checkName('host', host);
    if (name === c.name) throw new UserError('this is the host you are on', 'to take it out, run: cellblock cluster leave');
    const store = rt.store;
    const info = await store.getJson<HostInfo>(K.hostInfo(name));
    const live = await store.getJson<HostLive>(K.hostLive(name));
    const members = await store.members();
    const member = members.find((m) => m.name === name || (info && m.peerURLs.some((u) => u.includes(`//${urlHost(info.address)}:`))));
    if (!info && !member) throw new UserError(`no host named ${name} in this cluster`, 'see the names with: cellblock host ls');
    if (live && !o.force) throw new UserError(`host ${name} is alive`, `run cellblock cluster leave on ${name}, or drain it first (cellblock host drain ${name}) and pass --force`);
    await this.forget(store, name, info);
    await store.putJson(K.removed(name), { at: new Date().toISOString() });
    if (member) await store.removeMember(member.id);
    this.d.log.info({ host: name, member: Boolean(member) }, 'removed a host from the cluster');
    return { removed: name, wasMember: Boolean(member) };
  }

  /** Deletes a host's records; `known` is its hostinfo when the caller has read it already. */
  private async forget(store: Store, name: string, known?: HostInfo): Promise<void> {
    const info = known ?? (await store.getJson<HostInfo>(K.hostInfo(name)));
    const writes = [{ delete: K.hostInfo(name) }, { delete: K.hostCtl(name) }, { delete: K.placement(name) }, { delete: K.hostLive(name) }];
    if (info) writes.push({ delete: K.subnet(subnetKeyOf(info.subnet)) });
    await store.batch(writes);
    await store.deletePrefix(K.observedOf(name));
  }
}
