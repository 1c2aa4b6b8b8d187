/**
 * The agent's TCP listeners, on the host address once the host is in a cluster:
 *
 * - the agent API over mutual TLS (DEFAULT_API_PORT): the same routes as the unix socket; a
 *   client must present a certificate of this cluster's CA, anything else is refused in the
 *   TLS handshake;
 * - the join listener (DEFAULT_JOIN_PORT), on hosts that hold the CA key: TLS with the host
 *   certificate but no client certificate (a joining host has none yet), one route,
 *   POST /v1/join, authenticated by a single-use token.
 */
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ApiServer } from '../api/server.js';
import { errorToHttp } from '../api/errors.js';
import { readJsonBody, sendJson } from '../api/http.js';
import type { ClusterConfig } from '../cluster/config.js';
import { tlsDir, tlsJoinServerOptions, tlsPaths, tlsServerOptions, type TlsMaterial } from '../cluster/pki.js';
import type { Store } from '../cluster/store.js';
import type { Exec } from '../sys/exec.js';
import { exists } from '../sys/fsutil.js';
import { UserError } from '../sys/errors.js';
import { handleJoin } from './join.js';

/** Makes the agent API server for the mutual-TLS listener (the routes of the unix socket). */
export type ApiServerFactory = (tls: ServerOptions) => ApiServer;

export interface ListenerDeps {
  config: ClusterConfig;
  tls: TlsMaterial;
  dataDir: string;
  exec: Exec;
  log: Logger;
  store: Store;
  apiServer: ApiServerFactory;
}

function listen(server: HttpsServer | ApiServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
}

export class TcpListeners {
  private api: ApiServer | undefined;
  private join: HttpsServer | undefined;

  constructor(private readonly d: ListenerDeps) {}

  async start(): Promise<void> {
    await this.stop();
    const c = this.d.config;
    const api = this.d.apiServer(tlsServerOptions(this.d.tls));
    try {
      await listen(api, c.apiPort, c.address);
    } catch (e) {
      throw new UserError(`cannot listen for the agent API on ${c.address}:${c.apiPort}: ${(e as Error).message}`, 'free that port, or choose another with --api-port when joining (cluster init|join)');
    }
    this.api = api;
    this.d.log.info({ address: c.address, port: c.apiPort }, 'agent API listening (mutual TLS)');
    if (await exists(tlsPaths(tlsDir(this.d.dataDir)).caKey)) {
      const join = createHttpsServer(tlsJoinServerOptions(this.d.tls), (req, res) => void this.serveJoin(req, res));
      try {
        await listen(join, c.joinPort, c.address);
      } catch (e) {
        await api.shutdown(0);
        this.api = undefined;
        throw new UserError(`cannot listen for joins on ${c.address}:${c.joinPort}: ${(e as Error).message}`, 'free that port, or choose another with --join-port');
      }
      this.join = join;
      this.d.log.info({ address: c.address, port: c.joinPort }, 'join listener up (token-authenticated)');
    }
  }

  private async serveJoin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'POST' || req.url !== '/v1/join') {
        sendJson(res, 404, { error: { kind: 'user', message: 'the join listener serves only POST /v1/join' } });
        return;
      }
      const body = await readJsonBody(req, 64 * 1024);
      const out = await handleJoin({ store: this.d.store, dataDir: this.d.dataDir, exec: this.d.exec, log: this.d.log, clusterId: this.d.config.clusterId }, body);
      sendJson(res, 200, out);
    } catch (err) {
      const { status, body } = errorToHttp(err);
      this.d.log.warn({ err: body.error, remote: req.socket.remoteAddress }, 'join refused');
      if (!res.headersSent) sendJson(res, status, body);
    }
  }
  async stop(): Promise<void> {
    const api = this.api;
    const join = this.join;
    this.api = undefined;
    this.join = undefined;
    await Promise.all([
      api?.shutdown(2000),
      join ? new Promise<void>((r) => { join.close(() => r()); join.closeAllConnections(); }) : undefined,
    ]);
  }
}
