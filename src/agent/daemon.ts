/**
 * The agent daemon: makes the JailService (the jail manager, or whatever a test injects),
 * serves it on DATA_DIR/run/agent.sock, writes DATA_DIR/run/agent.pid, and on SIGTERM or
 * SIGINT stops accepting requests, closes the service and removes its socket and pid file.
 *
 * Stopping the agent never stops jails: their processes are supervised by conmon, not by
 * this process, and the next agent adopts them.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Exec } from '../sys/exec.js';
import { NotSupportedError, UserError } from '../sys/errors.js';
import type { JailService } from '../jail/service.js';
import { createApiServer, type ExtraRoutes } from '../api/server.js';
import { clearStaleSocket, ensureRunDir, listenOnSocket, pidFilePath, socketPath } from '../api/socket.js';
import { loadHostConfig } from '../jail/host-config.js';
import { logError, logged } from '../sys/log.js';
import { Cluster } from './cluster.js';
import { clearRoutes } from './cluster-runtime.js';
import { ClusterOps, realOpsDeps } from './cluster-ops.js';
import { clusterRoutes } from './cluster-api.js';

export interface AgentContext {
  dataDir: string;
  exec: Exec;
  log: Logger;
  /** This host's jail subnet, fixed on first use (default 10.77.0.0/24). */
  subnet?: string;
}

/** A JailService the agent owns: started before it is handed over, closed on shutdown. */
export interface RunningService extends JailService {
  close(): Promise<void>;
}

export type ServiceFactory = (ctx: AgentContext) => Promise<RunningService>;

/** The real one: JailManager, opened (bridge, adoption of running jails, supervisor loop). */
export const createJailManager: ServiceFactory = async ({ exec, dataDir, log, subnet }) => {
  const { JailManager } = await import('../jail/manager.js');
  const manager = new JailManager({ exec, dataDir, subnet, log: log.child({ component: 'jails' }) });
  await manager.open();
  return manager;
};

interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', fn: (sig: NodeJS.Signals) => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', fn: (sig: NodeJS.Signals) => void): unknown;
}

export interface AgentOptions extends AgentContext {
  createService?: ServiceFactory;
  /** Where SIGTERM and SIGINT come from (default: this process). */
  signals?: SignalSource;
  /** How long requests in flight may take to finish on shutdown (default 10 s). */
  graceMs?: number;
  version?: string;
  /**
   * Run the cluster side (etcd, lease, leader, reconciler, mTLS listeners). Default: on with
   * the real jail manager, off when a test injects a service.
   */
  cluster?: boolean;
  /** Host lease TTL in seconds (default 3). */
  ttlSeconds?: number;
}

export interface RunningAgent {
  socketPath: string;
  pidFile: string;
  /** Shuts down as a signal would. Idempotent. */
  stop(reason?: string): Promise<void>;
  /** Settles once the agent has shut down; rejects when closing the service failed. */
  done: Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  if (process.getuid?.() !== 0) throw new UserError('the agent must run as root', 'run it with sudo, or through its systemd unit');
  const log = o.log;
  const sock = socketPath(o.dataDir);
  const pidFile = pidFilePath(o.dataDir);
  // Refuse before starting anything when another agent serves this data dir.
  await ensureRunDir(o.dataDir);
  await clearStaleSocket(sock);

  const service = await (o.createService ?? createJailManager)({ dataDir: o.dataDir, exec: o.exec, log, subnet: o.subnet });
  let cluster: Cluster | undefined;
  let extra: ExtraRoutes | undefined;
  if (o.cluster ?? !o.createService) {
    const subnet = async () => (await loadHostConfig(o.dataDir, o.subnet ? { subnet: o.subnet } : {})).config.subnet;
    await subnet(); // a --subnet that differs from host.json's is refused before anything starts
    const clusterLog = log.child({ component: 'cluster' });
    // the routes and the cluster refer to each other only through these closures: the mTLS
    // listener (a part of each runtime) serves the same routes as the unix socket
    const routes = (): ExtraRoutes => extra!;
    const c = new Cluster({
      dataDir: o.dataDir, exec: o.exec, log: clusterLog, jails: service, subnet, version: o.version ?? 'dev',
      apiServer: (tls) => createApiServer(service, log.child({ component: 'api-tcp' }), { version: o.version, tls, extra: routes() }),
      ...(o.ttlSeconds ? { ttlSeconds: o.ttlSeconds } : {}),
    });
    const ops = new ClusterOps(realOpsDeps({
      dataDir: o.dataDir, exec: o.exec, log: clusterLog, runtime: c, subnet, clearRoutes: () => clearRoutes(o.exec, clusterLog),
      subnetFixed: o.subnet !== undefined,
      hasJails: async () => (await service.list()).length > 0,
      setSubnet: async (cidr) => {
        if (!service.changeSubnet) throw new NotSupportedError('changing the jail subnet', 'this jail service cannot; join with --subnet');
        await service.changeSubnet(cidr);
      },
    }));
    extra = clusterRoutes({ runtime: () => c.current(), ops });
    cluster = c;
  }
  const server = createApiServer(service, log.child({ component: 'api' }), { version: o.version, ...(extra ? { extra } : {}) });
  try {
    await cluster?.start();
    await listenOnSocket(server, o.dataDir);
    await writeFile(pidFile, `${process.pid}\n`, { mode: 0o644 });
  } catch (e) {
    await cluster?.stop({ revoke: false }).catch(logged(log, 'stopping the cluster runtime after a failed start failed'));
    await closeQuietly(service, log);
    await new Promise<void>((r) => server.close(() => r()));
    throw e;
  }
  log.info({ socket: sock, dataDir: o.dataDir }, 'agent listening');

  const signals = o.signals ?? process;
  let finish!: (err?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => { finish = (err) => (err === undefined ? resolve() : reject(err)); });
  done.catch(() => {}); // awaited by the caller; never an unhandled rejection
  let stopping: Promise<void> | undefined;

  const stop = (reason = 'requested'): Promise<void> => {
    stopping ??= (async () => {
      signals.off('SIGTERM', onSignal);
      signals.off('SIGINT', onSignal);
      log.info({ reason }, 'agent stopping; jails keep running');
      await server.shutdown(o.graceMs ?? 10_000);
      // the lease is left to expire: an agent restarted within the TTL takes over its host's
      // key before anyone sees the host down, so a restart moves no replica
      await cluster?.stop({ revoke: false }).catch(logged(log, 'stopping the cluster runtime failed'));
      let failure: unknown;
      try {
        await service.close();
      } catch (err) {
        failure = err;
        logError(log, err, 'closing the jail service failed');
      }
      await rm(sock, { force: true });
      await removePidFile(pidFile);
      log.info('agent stopped');
      finish(failure);
    })();
    return stopping.then(() => done);
  };
  const onSignal = (sig: NodeJS.Signals) => { void stop(sig).catch(() => undefined); }; // stop() logged the failure; `done` carries it
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);
  return { socketPath: sock, pidFile, stop, done };
}

async function closeQuietly(service: RunningService, log: Logger): Promise<void> {
  try {
    await service.close();
  } catch (err) {
    logError(log, err, 'closing the jail service failed');
  }
}

/** Removes the pid file only when it is ours (another agent may have replaced it). */
async function removePidFile(path: string): Promise<void> {
  try {
    if ((await readFile(path, 'utf8')).trim() === String(process.pid)) await rm(path, { force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
