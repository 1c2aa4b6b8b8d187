/**
 * The CLI's side of the agent API: one method per route over the unix socket, typed results,
 * and errors turned back into the classes the agent threw (errors.ts). It is a JailService
 * itself, so commands can be written against the contract.
 */
import { request, type IncomingMessage } from 'node:http';
import { peerRequest, type TlsMaterial } from './peer.js';
import type { Readable } from 'node:stream';
import type { ExecOutput, ExecRequest, JailCreateRequest, JailInspect, JailService, JailView, LogsRequest } from '../jail/service.js';
import { AgentBugError, errorFromHttp } from './errors.js';
import { agentNotRunning, checkSocketSafe, onlyRoot, socketPath, ROOT_UID } from './socket.js';

export interface Health {
  ok: boolean;
  pid: number;
  version: string | null;
  uptimeSeconds: number;
}

export interface ApiClientOptions {
  /** Owner the socket must have (root; tests of the check itself may differ). */
  uid?: number;
  /**
   * Talk to the agent of another host over the cluster's mutual TLS instead of the local
   * unix socket (`cellblock --host ADDR[:PORT]`), with this host's certificate.
   */
  remote?: { address: string; port: number; tls: () => Promise<TlsMaterial> };
}

export class ApiClient implements JailService {
  private safe: Promise<void> | undefined;

  constructor(readonly socketPath: string, private readonly opts: ApiClientOptions = {}) {}

  static forDataDir(dataDir: string, opts: ApiClientOptions = {}): ApiClient {
    return new ApiClient(socketPath(dataDir), opts);
  }

  health(): Promise<Health> {
    return this.json('GET', '/v1/health');
  }

  list(): Promise<JailView[]> {
    return this.json('GET', '/v1/jails');
  }

  create(req: JailCreateRequest): Promise<JailView> {
    return this.json('POST', '/v1/jails', req);
  }

  inspect(name: string): Promise<JailInspect> {
    return this.json('GET', jailPath(name));
  }

  start(name: string): Promise<JailView> {
    return this.json('POST', jailPath(name, 'start'));
  }

  stop(name: string, opts: { timeoutSeconds?: number } = {}): Promise<JailView> {
    return this.json('POST', jailPath(name, 'stop'), opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {});
  }

  restart(name: string): Promise<JailView> {
    return this.json('POST', jailPath(name, 'restart'));
  }

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.json('DELETE', jailPath(name) + (opts.force ? '?force=1' : ''));
  }

  exec(name: string, req: ExecRequest): Promise<ExecOutput> {
    return this.json('POST', jailPath(name, 'exec'), req);
  }

  /** The log text as a stream; aborting `req.signal` (or destroying the stream) hangs up. */
  async logs(name: string, req: LogsRequest = {}): Promise<Readable> {
    const q = new URLSearchParams();
    if (req.follow) q.set('follow', '1');
    if (req.tail !== undefined) q.set('tail', String(req.tail));
    const qs = q.toString();
    const res = await this.send('GET', jailPath(name, 'logs') + (qs ? `?${qs}` : ''), undefined, req.signal);
    if (res.statusCode === 200) return res;
    throw await errorOf(res);
  }

  /** A route that answers with a stream (JSON lines, text); a status >= 400 throws its error. */
  async callStream(method: string, path: string, body?: unknown): Promise<Readable> {
    const res = await this.send(method, path, body);
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    return res;
  }

  /** Any JSON route (the cluster routes of agent/cluster-api.ts). */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.json(method, path, body);
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    const text = await readAll(res);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new AgentBugError(`unreadable response to ${method} ${path}: ${text.slice(0, 200)}`);
    }
  }

  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<IncomingMessage> {
    const remote = this.opts.remote;
    if (remote) return this.sendRemote(remote, method, path, body, signal);
    this.safe ??= checkSocketSafe(this.socketPath, this.opts.uid ?? ROOT_UID);
    try {
      await this.safe;
    } catch (e) {
      this.safe = undefined;
      throw e;
    }
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method, headers, ...(signal ? { signal } : {}) }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(agentNotRunning(this.socketPath));
        else if (err.code === 'EACCES' || err.code === 'EPERM') reject(onlyRoot());
        else reject(err);
      });
      req.end(payload);
    });
  }

  private async sendRemote(r: NonNullable<ApiClientOptions['remote']>, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<IncomingMessage> {
    const to = { name: r.address, address: r.address, apiPort: r.port };
    return peerRequest(await r.tls(), to, method, path, { ...(body !== undefined ? { body } : {}), ...(signal ? { signal } : {}), timeoutMs: 0 }); // no idle limit: jail logs --follow may be quiet for long
  }
}

function jailPath(name: string, action?: string): string {
  return `/v1/jails/${encodeURIComponent(name)}${action ? `/${action}` : ''}`;
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function errorOf(res: IncomingMessage): Promise<Error> {
  const text = await readAll(res);
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = text; }
  return errorFromHttp(res.statusCode ?? 500, body);
}
