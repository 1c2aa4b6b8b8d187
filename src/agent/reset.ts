/**
 * `cellblock cluster leave --force`: makes this host a single host again without its agent and
 * without the cluster: for a host that was removed from its cluster, whose cluster is gone, or
 * whose cluster.json is damaged. It stops this data dir's etcd, removes the cluster state
 * (certificates, cluster.json, etcd's data and member record) and cellblock's routes to the
 * other hosts. Jails keep running; the next agent is a single host, and it removes the
 * replica jails that no placement names any more.
 */
import { rm } from 'node:fs/promises';
import pino from 'pino';
import { EmbeddedEtcd } from '../cluster/embedded-etcd.js';
import { etcdLayout } from '../cluster/etcd.js';
import { clusterDir } from '../cluster/config.js';
import { probeSocket, socketPath } from '../api/socket.js';
import { UserError } from '../sys/errors.js';
import type { Exec } from '../sys/exec.js';
import { RouteSync } from './routes.js';
import { stopKeepalived } from '../lb/keepalived.js';

export async function resetToSingleOffline(dataDir: string, exec: Exec): Promise<{ removed: string[] }> {
  if ((await probeSocket(socketPath(dataDir))) === 'answers') {
    throw new UserError('the agent of this host is running', 'use cellblock cluster leave without --force (the agent does it), or stop the agent first (systemctl stop cellblock-agent)');
  }
  await new EmbeddedEtcd({ dataDir }).stop();
  await stopKeepalived(dataDir); // lb.vip was the cluster's: a single host holds no floating address
  const l = etcdLayout(dataDir);
  const removed = [clusterDir(dataDir), l.dir, l.config];
  for (const p of removed) await rm(p, { recursive: true, force: true });
  await new RouteSync(exec, pino({ level: 'silent' })).clear();
  return { removed };
}
