/**
 * cluster init | join | leave | remove, as the agent carries them out. Each stops the cluster
 * runtime (never the jails), changes the host's etcd member record, certificates and
 * cluster.json, and starts the runtime again; a failure part-way puts the host back to a
 * single host, so it is never left half in a cluster.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer } from 'node:net';
import { contains, parseIPv4, parseSubnet } from '../jail/ipam.js';
import { Store } from '../cluster/store.js';
import { DEFAULT_API_PORT, DEFAULT_JOIN_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT, clusterConfigPath, writeClusterConfig, type ClusterConfig } from '../cluster/config.js';
import { EmbeddedEtcd, freePortPair } from '../cluster/embedded-etcd.js';
import { urlHost } from '../cluster/etcd.js';
import { K, type HostInfo, type HostLive } from '../cluster/model.js';
import { createCa, createKeyAndCsr, etcdTlsFiles, issueHostCert, readTls, tlsDir, tlsPaths, writeHostCert } from '../cluster/pki.js';
import { fetchPeerCa, parseToken } from '../cluster/token.js';
import { UserError } from '../sys/errors.js';
import { checkName } from '../sys/names.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { newClusterId, type JoinResponse } from './join.js';

export interface Listeners {
  /** Starts the mTLS API (and the join listener) on the host address. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterSummary {
  clusterId: string | null;
  name: string;
  role: 'single' | 'member' | 'client';
  address: string | null;
  apiPort: number | null;
}

/**
 * The one IPv4 address of this host (its network namespace) that is neither loopback nor in
 * its jail subnet (the jail bridge has an address there), for a missing --advertise.
 */
export function defaultAdvertise(jailSubnet: string, ifaces = networkInterfaces()): string {
  const jails = parseSubnet('subnet', jailSubnet);
  const found = Object.values(ifaces).flatMap((l) => l ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal && !contains(jails, parseIPv4('address', i.address)))
    .map((i) => i.address);
  const uniq = [...new Set(found)];
  if (uniq.length === 1) return uniq[0]!;
  throw new UserError(
    uniq.length === 0 ? 'this host has no IPv4 address besides loopback to advertise' : `this host has several addresses (${uniq.join(', ')}); which one do the other hosts reach it at?`,
    'pass --advertise ADDR',
  );
}

function checkAddress(flag: string, a: unknown): string {
  if (typeof a !== 'string' || isIP(a) === 0) throw new UserError(`${flag} ${JSON.stringify(a)} is not an IP address`, `give this host's address on the network the other hosts share, e.g. ${flag} 192.0.2.10`);
  return a;
}

/**
 * Refuses when a port this host needs in the cluster is taken on its address (etcd's 2379 also
 * on 127.0.0.1): Debian's own etcd service, most often. Checked before anything changes.
 */
export async function checkPortsFree(address: string, ports: readonly number[]): Promise<void> {
  const targets: [string, number][] = ports.map((p) => [address, p]);
  if (ports.includes(ETCD_CLIENT_PORT)) targets.push(['127.0.0.1', ETCD_CLIENT_PORT]);
  for (const [host, port] of targets) {
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const srv = createServer();
      srv.once('error', (e: NodeJS.ErrnoException) => resolve(e));
      srv.listen(port, host, () => srv.close(() => resolve(undefined)));
    });
    if (!err) continue;
    const etcd = port === ETCD_CLIENT_PORT || port === ETCD_PEER_PORT;
    throw new UserError(
      `cannot use ${host}:${port} for this host's ${etcd ? 'etcd member' : 'agent'}: ${err.code === 'EADDRINUSE' ? 'another program listens there' : err.message}`,
      err.code !== 'EADDRINUSE' ? 'check --advertise: it must be an address of this host'
        : etcd ? 'stop it; if it is Debian\'s etcd service: systemctl disable --now etcd (cellblock runs its own)'
        : 'stop the program that listens there, or choose other ports with --api-port / --join-port',
    );
  }
}

/** The ports of an etcd member (see checkPortsFree). */
export const checkEtcdPorts = (address: string): Promise<void> => checkPortsFree(address, [ETCD_CLIENT_PORT, ETCD_PEER_PORT]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Promotes a learner once etcd says it has caught up with the leader (retries up to 60 s, or until aborted). */
async function promoteWhenSynced(store: Store, memberId: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (signal.aborted) throw new Error('promotion abandoned: the member did not start');
    try {
      await store.client.cluster.memberPromote({ ID: memberId });
      return;
    } catch (e) {
      if (!/learner|not found in|unhealthy/i.test((e as Error).message) || Date.now() > deadline) throw e;
      if (/not a learner/i.test((e as Error).message)) return;
      await sleep(300);
    }
  }
}

export interface JoinOptions { address: string; token: string; advertise?: string; name?: string; joinPort?: number; apiPort?: number }

export class ClusterOps {
  private busy: string | undefined;

  constructor(private readonly rt: ClusterRuntime, private readonly listeners: Listeners) {}

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
    const c = this.rt.config;
    return { clusterId: c?.clusterId ?? null, name: this.rt.name, role: c?.role ?? 'single', address: c?.address ?? null, apiPort: c?.apiPort ?? null };
  }

  private refuseIfClustered(): void {
    const c = this.rt.config;
    if (c) throw new UserError(`this host is already in cluster ${c.clusterId} as ${c.name}`, 'see cellblock cluster status; to start over here: cellblock cluster leave');
  }

  /** A host with applied stacks would lose them: its etcd is replaced. */
  private async refuseIfStacks(): Promise<void> {
    const kvs = await this.rt.requireStore().getPrefix(K.stacks);
    if (kvs.kvs.length > 0) {
      const names = kvs.kvs.map((kv) => kv.key.slice(K.stacks.length));
      throw new UserError(`this host has stacks applied (${names.join(', ')}); they would be lost when its state moves into the cluster`, 'delete them first (cellblock delete -f FILE), then apply them again once the host is in the cluster');
    }
  }

  init(o: { advertise?: string; name?: string; apiPort?: number; joinPort?: number }): Promise<ClusterSummary> {
    return this.exclusive('init', () => this.doInit(o));
  }

  private async doInit(o: { advertise?: string; name?: string; apiPort?: number; joinPort?: number }): Promise<ClusterSummary> {
    this.refuseIfClustered();
    const address = checkAddress('--advertise', o.advertise ?? defaultAdvertise(this.rt.o.subnet));
    const name = checkName('host', o.name ?? this.rt.name);
    await this.refuseIfStacks();
    const clusterId = newClusterId();
    const cfg: ClusterConfig = {
      clusterId, name, address, apiPort: o.apiPort ?? DEFAULT_API_PORT, joinPort: o.joinPort ?? DEFAULT_JOIN_PORT,
      role: 'member', endpoints: [`https://${urlHost(address)}:${ETCD_CLIENT_PORT}`], joinedAt: new Date().toISOString(),
    };
    await checkPortsFree(address, [ETCD_CLIENT_PORT, ETCD_PEER_PORT, cfg.apiPort, cfg.joinPort]);
    const dir = tlsDir(this.rt.o.dataDir);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await createCa(this.rt.o.exec, dir, clusterId);
    await issueHostCert(this.rt.o.exec, dir, { host: name, addresses: [address] });
    await this.switchTo(cfg, `${name}=https://${urlHost(address)}:${ETCD_PEER_PORT}`, 'new');
    this.rt.log.info({ clusterId, name, address }, 'cluster initialised: this host is its first etcd member');
    return this.summary();
  }

  join(o: JoinOptions): Promise<ClusterSummary & { members: number }> {
    return this.exclusive('join', () => this.doJoin(o));
  }

  private async doJoin(o: JoinOptions): Promise<ClusterSummary & { members: number }> {
    this.refuseIfClustered();
    const server = checkAddress('ADDR', o.address);
    const address = checkAddress('--advertise', o.advertise ?? defaultAdvertise(this.rt.o.subnet));
    const name = checkName('host', o.name ?? this.rt.name);
    const tok = parseToken(o.token);
    await this.refuseIfStacks();
    const dir = tlsDir(this.rt.o.dataDir);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const joinPort = o.joinPort ?? DEFAULT_JOIN_PORT;
    try {
      // before the cluster changes anything for us: every port this host will listen on
      await checkPortsFree(address, [ETCD_CLIENT_PORT, ETCD_PEER_PORT, o.apiPort ?? DEFAULT_API_PORT, joinPort]);
      const csr = await createKeyAndCsr(this.rt.o.exec, dir, name);
      const ca = await fetchPeerCa(server, joinPort, tok.caFpPrefix);
      const resp = await postJoin(server, joinPort, ca, { token: o.token, name, address, subnet: this.rt.o.subnet, csr });
      await writeHostCert(dir, { ca: resp.ca, cert: resp.cert });
      if (resp.caKey) await writeFile(tlsPaths(dir).caKey, resp.caKey, { mode: 0o600 });
      const cfg: ClusterConfig = {
        clusterId: resp.clusterId, name, address, apiPort: o.apiPort ?? DEFAULT_API_PORT, joinPort,
        role: resp.role, endpoints: resp.endpoints, joinedAt: new Date().toISOString(),
      };
      const own = `https://${urlHost(address)}:${ETCD_CLIENT_PORT}`;
      await this.switchTo(cfg, resp.initialCluster, 'existing', resp.memberId ? { memberId: resp.memberId, endpoints: resp.endpoints.filter((u) => u !== own) } : undefined);
      this.rt.log.info({ clusterId: resp.clusterId, name, role: resp.role }, 'joined the cluster');
      return { ...this.summary(), members: resp.endpoints.length };
    } catch (e) {
      if (!this.rt.config) await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Stops the runtime, replaces etcd's member record and data, writes cluster.json, starts again. */
  private async switchTo(cfg: ClusterConfig, initialCluster: string | null, state: 'new' | 'existing', learner?: { memberId: string; endpoints: string[] }): Promise<void> {
    const rt = this.rt;
    let members: Store | undefined;
    let promoted = false;
    const stopPromoting = new AbortController();
    const etcd = new EmbeddedEtcd({ dataDir: rt.o.dataDir });
    try {
      if (learner) {
        const t = await readTls(tlsDir(rt.o.dataDir));
        members = Store.connect(learner.endpoints, { credentials: { rootCertificate: t.ca, certChain: t.cert, privateKey: t.key } });
      }
      await rt.stop({ revoke: true, stopEtcd: true });
      await etcd.wipe();
      if (cfg.role === 'member') {
        if (learner) await checkEtcdPorts(cfg.address);
        await etcd.configure({
          name: cfg.name, clientPort: ETCD_CLIENT_PORT, peerPort: ETCD_PEER_PORT,
          cluster: { address: cfg.address, initialCluster: initialCluster ?? '', initialState: state, clusterId: cfg.clusterId, tls: etcdTlsFiles(tlsDir(rt.o.dataDir)) },
        });
        if (learner && members) {
          // the new member starts as a learner; it is promoted once it has caught up, and only
          // then counts towards the quorum (and answers health checks)
          const store = members;
          await Promise.all([
            etcd.ensureRunning().catch((e: unknown) => { stopPromoting.abort(); throw e; }),
            promoteWhenSynced(store, learner.memberId, stopPromoting.signal).then(() => { promoted = true; }),
          ]);
        }
      }
      await writeClusterConfig(rt.o.dataDir, cfg);
      await rt.start();
      await this.listeners.start();
    } catch (e) {
      rt.log.error({ err: { message: (e as Error).message } }, 'could not start in the cluster; going back to a single host');
      stopPromoting.abort();
      if (learner && members && !promoted) {
        // a learner does not count towards the quorum: removing it always works
        await members.client.cluster.memberRemove({ ID: learner.memberId }).catch((err: Error) => rt.log.error({ err: { message: err.message } }, 'removing the learner this host was added as failed; remove it with etcdctl member remove'));
      }
      await this.resetToSingle().catch((err: Error) => rt.log.error({ err: { message: err.message } }, 'going back to a single host failed'));
      throw e;
    } finally {
      await members?.close().catch(() => {});
    }
  }

  /** Back to a single host: a fresh one-member etcd on 127.0.0.1, no certificates. */
  private async resetToSingle(): Promise<void> {
    const rt = this.rt;
    await this.listeners.stop().catch(() => {});
    await rt.stop({ revoke: false, stopEtcd: true });
    await rt.clearRoutes();
    const etcd = new EmbeddedEtcd({ dataDir: rt.o.dataDir });
    await etcd.wipe();
    const [clientPort, peerPort] = await freePortPair();
    await etcd.configure({ name: rt.name, clientPort, peerPort });
    await rm(clusterConfigPath(rt.o.dataDir), { force: true });
    await rm(tlsDir(rt.o.dataDir), { recursive: true, force: true });
    await rt.start();
  }

  /** Leaves the cluster: out of etcd's membership and the host list, back to a single host. */
  leave(): Promise<ClusterSummary> {
    return this.exclusive('leave', () => this.doLeave());
  }

  private async doLeave(): Promise<ClusterSummary> {
    const c = this.rt.config;
    if (!c) throw new UserError('this host is not in a cluster', 'nothing to leave');
    const store = this.rt.requireStore();
    await this.forget(c.name);
    if (c.role === 'member') {
      const members = (await store.client.cluster.memberList({ linearizable: true })).members ?? [];
      const me = members.find((m) => m.name === c.name);
      if (me && members.length > 1) await store.client.cluster.memberRemove({ ID: me.ID });
    }
    await this.resetToSingle();
    this.rt.log.info({ clusterId: c.clusterId }, 'left the cluster; this is a single host again');
    return this.summary();
  }

  /** Removes another host (a dead one, or one that cannot leave by itself). */
  remove(host: string, o: { force?: boolean } = {}): Promise<{ removed: string; wasMember: boolean }> {
    return this.exclusive('remove', () => this.doRemove(host, o));
  }

  private async doRemove(host: string, o: { force?: boolean }): Promise<{ removed: string; wasMember: boolean }> {
    const c = this.rt.config;
    if (!c) throw new UserError('this host is not in a cluster', 'cellblock cluster remove works on a cluster host');
    const name = checkName('host', host);
    if (name === c.name) throw new UserError('this is the host you are on', 'to take it out, run: cellblock cluster leave');
    const store = this.rt.requireStore();
    const info = await store.getJson<HostInfo>(K.hostInfo(name));
    const live = await store.getJson<HostLive>(K.hostLive(name));
    const members = (await store.client.cluster.memberList({ linearizable: true })).members ?? [];
    const member = members.find((m) => m.name === name || (info && m.peerURLs.some((u) => u.includes(`//${urlHost(info.address)}:`))));
    if (!info && !member) throw new UserError(`no host named ${name} in this cluster`, 'see the names with: cellblock host ls');
    if (live && !o.force) throw new UserError(`host ${name} is alive`, `run cellblock cluster leave on ${name}, or drain it first (cellblock host drain ${name}) and pass --force`);
    await this.forget(name, info);
    await store.putJson(K.removed(name), { at: new Date().toISOString() });
    if (member) await store.client.cluster.memberRemove({ ID: member.ID });
    this.rt.log.info({ host: name, member: Boolean(member) }, 'removed a host from the cluster');
    return { removed: name, wasMember: Boolean(member) };
  }

  /** Deletes a host's records; `known` is its hostinfo when the caller has read it already. */
  private async forget(name: string, known?: HostInfo): Promise<void> {
    const store = this.rt.requireStore();
    const info = known ?? (await store.getJson<HostInfo>(K.hostInfo(name)));
    const writes = [{ delete: K.hostInfo(name) }, { delete: K.hostCtl(name) }, { delete: K.placement(name) }, { delete: K.hostLive(name) }];
    if (info) writes.push({ delete: K.subnet(info.subnet.split('/')[0]!) });
    await store.batch(writes);
    await store.deletePrefix(K.observedOf(name));
  }
}

/** POST /v1/join on the join listener, trusting only the CA the token vouched for. */
function postJoin(address: string, port: number, caPem: string, body: unknown): Promise<JoinResponse> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request({
      host: address, port, method: 'POST', path: '/v1/join', ca: caPem, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': payload.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: { error?: { message?: string; fix?: string } } & Partial<JoinResponse>;
        try { parsed = JSON.parse(text); } catch { reject(new UserError(`the join listener at ${address}:${port} answered ${res.statusCode} with no JSON`, 'is that a cellblock host of the same version?')); return; }
        if (res.statusCode !== 200) reject(new UserError(`joining through ${address}:${port} was refused: ${parsed.error?.message ?? text}`, parsed.error?.fix ?? 'get a fresh token and try again'));
        else resolve(parsed as JoinResponse);
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (err) => reject(new UserError(`cannot reach the join listener at ${address}:${port}: ${err.message}`, 'check the address and that the host there ran cellblock cluster init (or joined as an etcd member) and its agent runs')));
    req.end(payload);
  });
}
