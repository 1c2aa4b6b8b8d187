/**
 * How a request reaches an agent: over its root-only unix socket, or over the cluster's
 * mutual TLS (this host's certificate, only the cluster CA trusted). `httpsRequest` is the one
 * HTTPS request function of the code base: the typed client, agent-to-agent calls and the
 * join request all go through it.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequestRaw, type RequestOptions } from 'node:https';
import { UserError } from '../sys/errors.js';
import { urlHost } from '../cluster/etcd.js';
import type { TlsMaterial } from '../cluster/pki.js';
import { agentNotRunning, checkSocketSafe, onlyRoot, ROOT_UID } from './socket.js';

export interface SendOptions {
  /** Idle limit in ms; 0: none (a followed log may be quiet for long). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Sends one request; resolves with the response (any status) once its headers arrive. */
export interface Transport {
  send(method: string, path: string, body: unknown, o?: SendOptions): Promise<IncomingMessage>;
}

function jsonPayload(body: unknown): { payload: Buffer | undefined; headers: Record<string, string | number> } {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
  return { payload, headers };
}

export interface HttpsRequest {
  host: string;
  port: number;
  method: string;
  path: string;
  /** Trusted CA (PEM); with cert and key, the client side of mutual TLS. */
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  body?: unknown;
  /** Idle limit in ms (default 10 s); 0: none. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The error to throw when the request fails before an answer (refused, timed out, TLS). */
  unreachable: (err: Error) => Error;
}

/** One HTTPS request with a JSON body; resolves with the response (any status) once its headers arrive. */
export function httpsRequest(r: HttpsRequest): Promise<IncomingMessage> {
  const { payload, headers } = jsonPayload(r.body);
  const opts: RequestOptions = {
    host: r.host, port: r.port, method: r.method, path: r.path, headers, ca: r.ca, agent: false,
    ...(r.cert ? { cert: r.cert } : {}), ...(r.key ? { key: r.key } : {}),
    ...(r.signal ? { signal: r.signal } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = httpsRequestRaw(opts, resolve);
    const idle = r.timeoutMs ?? 10_000;
    if (idle > 0) req.setTimeout(idle, () => req.destroy(new Error(`no answer within ${Math.round(idle / 1000)} s`)));
    req.on('error', (err) => reject(r.signal?.aborted ? err : r.unreachable(err)));
    req.end(payload);
  });
}

export interface PeerTarget {
  /** Host name, for messages. */
  name: string;
  address: string;
  apiPort: number;
}

/** Another host's agent over mutual TLS. */
export function tlsTransport(tls: () => TlsMaterial | Promise<TlsMaterial>, to: PeerTarget, defaults: SendOptions = {}): Transport {
  return {
    async send(method, path, body, o = {}) {
      const t = await tls();
      return httpsRequest({
        host: to.address, port: to.apiPort, method, path, body, ca: t.ca, cert: t.cert, key: t.key,
        ...(o.timeoutMs ?? defaults.timeoutMs) !== undefined ? { timeoutMs: o.timeoutMs ?? defaults.timeoutMs } : {},
        ...(o.signal ? { signal: o.signal } : {}),
        unreachable: (err) => new UserError(
          `cannot reach the agent of host ${to.name} at https://${urlHost(to.address)}:${to.apiPort}: ${err.message}`,
          'check that its agent runs and that the port is open between the hosts',
        ),
      });
    },
  };
}

/** This host's agent on DATA_DIR/run/agent.sock, whose owner and mode are checked first. */
export function unixTransport(socketPath: string, uid = ROOT_UID): Transport {
  let safe: Promise<void> | undefined;
  return {
    async send(method, path, body, o = {}) {
      safe ??= checkSocketSafe(socketPath, uid);
      try {
        await safe;
      } catch (e) {
        safe = undefined; // checked again on the next request: the agent may be started by then
        throw e;
      }
      const { payload, headers } = jsonPayload(body);
      return new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest({ socketPath, path, method, headers, ...(o.signal ? { signal: o.signal } : {}) }, resolve);
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(agentNotRunning(socketPath));
          else if (err.code === 'EACCES' || err.code === 'EPERM') reject(onlyRoot());
          else reject(err);
        });
        req.end(payload);
      });
    },
  };
}

export async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
