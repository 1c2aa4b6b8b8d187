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
}

export function checkMember(v: unknown, path: string): EtcdMember {
  const o = v as Partial<EtcdMember> | null;
  const port = (p: unknown) => typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;
  if (!o || typeof o !== 'object' || typeof o.name !== 'string' || !port(o.clientPort) || !port(o.peerPort)) {
    throw new Error(`${path}: not an etcd member record (want {"name", "clientPort", "peerPort"}); remove it to choose new ports`);
  }
  return { name: checkName('host', o.name), clientPort: o.clientPort!, peerPort: o.peerPort! };
}

export const clientUrl = (m: EtcdMember): string => `http://127.0.0.1:${m.clientPort}`;
export const peerUrl = (m: EtcdMember): string => `http://127.0.0.1:${m.peerPort}`;

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
