/**
 * DATA_DIR/cluster/cluster.json: written by `cluster init` or `cluster join`, removed by
 * `cluster leave`. Without it the host runs alone: its agent supervises a one-member etcd on
 * 127.0.0.1 and serves only its unix socket.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../sys/errors.js';
import { readJson, writeJsonAtomic } from '../sys/fsutil.js';
import { NAME_RE } from '../sys/names.js';

export const DEFAULT_API_PORT = 7480;
export const DEFAULT_JOIN_PORT = 7481;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** Hosts beyond this many join as etcd clients, not members. */
export const MAX_ETCD_MEMBERS = 3;

const ClusterConfigSchema = z.strictObject({
  clusterId: z.string().regex(/^[a-f0-9]{12}$/),
  name: z.string().regex(NAME_RE),
  address: z.string().refine((a) => isIP(a) !== 0, 'an IP address'),
  apiPort: z.number().int().min(1).max(65535),
  joinPort: z.number().int().min(1).max(65535),
  role: z.enum(['member', 'client']),
  /** etcd client URLs of the members (https://ADDR:2379), as known at join time. */
  endpoints: z.array(z.string()).min(1),
  joinedAt: z.string(),
});
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;

export function clusterDir(dataDir: string): string {
  return join(dataDir, 'cluster');
}

export function clusterConfigPath(dataDir: string): string {
  return join(clusterDir(dataDir), 'cluster.json');
}

export async function readClusterConfig(dataDir: string): Promise<ClusterConfig | undefined> {
  const path = clusterConfigPath(dataDir);
  const raw = await readJson<unknown>(path);
  if (raw === undefined) return undefined;
  const r = ClusterConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UserError(`${path} is damaged at ${i.path.join('.') || '(root)'}: ${i.message}`, 'restore it from a backup; or make this a single host again: stop the agent, run cellblock cluster leave --force, start the agent (then cellblock cluster remove NAME on another host)');
  }
  return r.data;
}

export async function writeClusterConfig(dataDir: string, cfg: ClusterConfig): Promise<void> {
  await writeJsonAtomic(clusterConfigPath(dataDir), ClusterConfigSchema.parse(cfg), 0o600);
}

/** The name a host has before it is named by `cluster init|join --name`: its hostname, made a valid name. */
export function defaultHostName(raw = hostname()): string {
  const s = raw.toLowerCase().split('.')[0]!.replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  return NAME_RE.test(s) ? s : 'local';
}
