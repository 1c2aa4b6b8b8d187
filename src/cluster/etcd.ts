/**
 * The embedded etcd of a single host (Debian package `etcd-server`, etcd 3.4): where its files
 * live under the data dir and the argv that starts it as a one-member cluster on 127.0.0.1.
 * Pure: no I/O here; EmbeddedEtcd (embedded-etcd.ts) runs and supervises it.
 */
import { join } from 'node:path';
import { checkName } from '../sys/names.js';

export type Argv = string[];

/** Files of the embedded etcd under DATA_DIR. */
export interface EtcdLayout {
  /** DATA_DIR/etcd: everything etcd writes. */
  dir: string;
  /** etcd's own --data-dir (holds member/ once etcd has run). */
  dataDir: string;
  /** etcd's stdout and stderr (zap JSON lines). */
  log: string;
  /** The member record: name and ports, written on first use so restarts reuse them. */
  config: string;
  /** PID of the running etcd. */
  pidFile: string;
}

export function etcdLayout(dataDir: string): EtcdLayout {
  const dir = join(dataDir, 'etcd');
  return {
    dir,
    dataDir: join(dir, 'data'),
    log: join(dir, 'etcd.log'),
    config: join(dataDir, 'etcd.json'),
    pidFile: join(dataDir, 'run', 'etcd.pid'),
  };
}

/** What DATA_DIR/etcd.json records. */
export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  /** Present once the host is in a cluster (`cluster init|join`): TLS on the host address. */
  cluster?: EtcdClusterMember;
}

/** An etcd member of a multi-host cluster: TLS for clients and peers, on the host address. */
export interface EtcdClusterMember {
  /** The host address etcd listens on and advertises (it also listens on 127.0.0.1). */
  address: string;
  /** NAME=https://ADDR:PEER,... as etcd's --initial-cluster wants it (used on first start only). */
  initialCluster: string;
  /** new: the first member (cluster init); existing: a member added by cluster join. */
  initialState: 'new' | 'existing';
  /** The cluster's id: etcd's --initial-cluster-token. */
  clusterId: string;
  tls: EtcdTlsFiles;
}

export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function checkMember(v: unknown, path: string): EtcdMember {
  const o = v as Partial<EtcdMember> | null;
  const port = (p: unknown) => typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;
  if (!o || typeof o !== 'object' || typeof o.name !== 'string' || !port(o.clientPort) || !port(o.peerPort)) {
    throw new Error(`${path}: not an etcd member record (want {"name", "clientPort", "peerPort"}); remove it to choose new ports`);
  }
  const c = o.cluster;
  if (c !== undefined && (typeof c !== 'object' || typeof c.address !== 'string' || typeof c.initialCluster !== 'string' || typeof c.clusterId !== 'string' || !c.tls)) {
    throw new Error(`${path}: its "cluster" section is incomplete; run cellblock cluster leave, or restore the file`);
  }
  return { name: checkName('host', o.name), clientPort: o.clientPort!, peerPort: o.peerPort!, ...(c ? { cluster: c } : {}) };
}

/** The URL this host's own clients use: always loopback (https once in a cluster). */
export const clientUrl = (m: EtcdMember): string => `${m.cluster ? 'https' : 'http'}://127.0.0.1:${m.clientPort}`;
/** The client URL other hosts use (the host address in a cluster). */
export const advertisedClientUrl = (m: EtcdMember): string => (m.cluster ? `https://${urlHost(m.cluster.address)}:${m.clientPort}` : clientUrl(m));
export const peerUrl = (m: EtcdMember): string => (m.cluster ? `https://${urlHost(m.cluster.address)}:${m.peerPort}` : `http://127.0.0.1:${m.peerPort}`);

/** An address as the host part of a URL (IPv6 in brackets). */
export function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

export interface EtcdArgvOptions {
  member: EtcdMember;
  layout: EtcdLayout;
  /** 'existing' once the member's data dir has been initialised (then etcd ignores --initial-*). */
  state: 'new' | 'existing';
  /** Path of the etcd binary (default `etcd` on PATH). */
  binary?: string;
}

/**
 * argv of a one-member etcd 3.4 listening on 127.0.0.1 only. Logs go to stderr (the caller
 * points stderr at layout.log) as zap JSON lines; v2 API off; keys' history compacted hourly.
 */
export function etcdArgv(o: EtcdArgvOptions): Argv {
  const m = o.member;
  if (m.cluster) return clusterEtcdArgv(o, m.cluster);
  return [
    o.binary ?? 'etcd',
    '--name', m.name,
    '--data-dir', o.layout.dataDir,
    '--listen-client-urls', clientUrl(m),
    '--advertise-client-urls', clientUrl(m),
    '--listen-peer-urls', peerUrl(m),
    '--initial-advertise-peer-urls', peerUrl(m),
    '--initial-cluster', `${m.name}=${peerUrl(m)}`,
    '--initial-cluster-state', o.state,
    '--initial-cluster-token', `cellblock-${m.name}`,
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    '--auto-compaction-mode', 'periodic',
    '--auto-compaction-retention', '1h',
  ];
}

/**
 * argv of a member of a multi-host cluster: client and peer traffic over TLS with client
 * certificates from the cluster CA required on both (--client-cert-auth, --peer-client-cert-auth),
 * listening on the host address and, for the host's own agent, on 127.0.0.1.
 */
export function clusterEtcdArgv(o: EtcdArgvOptions, c: EtcdClusterMember): Argv {
  const m = o.member;
  return [
    o.binary ?? 'etcd',
    '--name', m.name,
    '--data-dir', o.layout.dataDir,
    '--listen-client-urls', `${advertisedClientUrl(m)},${clientUrl(m)}`,
    '--advertise-client-urls', advertisedClientUrl(m),
    '--listen-peer-urls', peerUrl(m),
    '--initial-advertise-peer-urls', peerUrl(m),
    '--initial-cluster', c.initialCluster,
    '--initial-cluster-state', o.state === 'existing' ? 'existing' : c.initialState,
    '--initial-cluster-token', `cellblock-${c.clusterId}`,
    '--client-cert-auth',
    '--trusted-ca-file', c.tls.caFile,
    '--cert-file', c.tls.certFile,
    '--key-file', c.tls.keyFile,
    '--peer-client-cert-auth',
    '--peer-trusted-ca-file', c.tls.caFile,
    '--peer-cert-file', c.tls.certFile,
    '--peer-key-file', c.tls.keyFile,
    // a member that was cut off and comes back must not force an election (and cost every
    // host its lease) just because its term ran ahead while it was alone
    '--pre-vote',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    '--auto-compaction-mode', 'periodic',
    '--auto-compaction-retention', '1h',
  ];
}

/**
 * True when a process's /proc/PID/cmdline (NUL-separated) is an etcd started with this
 * --data-dir: a PID file is trusted only if the PID is still that etcd, never a reused PID.
 */
export function isEtcdFor(cmdline: string, etcdDataDir: string): boolean {
  const args = cmdline.split('\0');
  if (!/(^|\/)etcd$/.test(args[0] ?? '')) return false;
  const i = args.indexOf('--data-dir');
  return i >= 0 && args[i + 1] === etcdDataDir;
}

/** etcd 3.4's GET /health body: {"health":"true"} (3.4.10+ may add "reason"). */
export function parseHealth(body: string): boolean {
  try {
    const v = JSON.parse(body) as { health?: unknown };
    return v.health === 'true' || v.health === true;
  } catch {
    return false;
  }
}
