/**
 * The typed client of the agent API: `call('routeName', {params, query, body})`, typed from
 * the contract, over any transport (this host's unix socket, another host's mutual TLS).
 * Errors come back as the classes the agent threw (errors.ts). It is a JailService itself, so
 * commands can be written against that contract.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { ExecOutput, ExecRequest, JailCreateRequest, JailInspect, JailService, JailView, LogsRequest } from '../jail/service.js';
import { ROUTES, pathOf, type CallArgs, type CallInput, type Health, type JsonRouteName, type ReplyOf, type StreamRouteName } from './contract.js';
import type { RouteDef } from './contract/define.js';
import { AgentBugError, errorFromHttp } from './errors.js';
import { socketPath } from './socket.js';
import { readBody, tlsTransport, unixTransport, type PeerTarget, type SendOptions, type Transport } from './transport.js';
import type { TlsMaterial } from '../cluster/pki.js';

export type { Health } from './contract.js';

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
  constructor(readonly transport: Transport) {}

  static forDataDir(dataDir: string, opts: ApiClientOptions = {}): ApiClient {
    const r = opts.remote;
    // no idle limit over TLS either: jail logs --follow may be quiet for long
    if (r) return new ApiClient(tlsTransport(r.tls, { name: r.address, address: r.address, apiPort: r.port }, { timeoutMs: 0 }));
    return new ApiClient(unixTransport(socketPath(dataDir), opts.uid));
  }

  /** Another host's agent over mutual TLS, with this host's certificate (agent to agent). */
  static forPeer(tls: TlsMaterial, to: PeerTarget, defaults: SendOptions = {}): ApiClient {
    return new ApiClient(tlsTransport(() => tls, to, defaults));
  }

  /** A JSON route of the contract; a status >= 400 throws the error the agent described. */
  async call<N extends JsonRouteName>(name: N, ...[input]: CallArgs<N>): Promise<ReplyOf<N>> {
    const res = await this.send(name, input ?? {});
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    const text = await readBody(res);
    try {
      return JSON.parse(text) as ReplyOf<N>;
    } catch {
      throw new AgentBugError(`unreadable response to ${name}: ${text.slice(0, 200)}`);
    }
  }

  /** A streamed route: the response, once its head says 200; a status >= 400 throws its error. */
  async stream<N extends StreamRouteName>(name: N, input: CallInput<N>, o: SendOptions = {}): Promise<IncomingMessage> {
    const res = await this.send(name, input, o);
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    return res;
  }

  private send(name: JsonRouteName | StreamRouteName, input: { params?: object; query?: object; body?: unknown }, o: SendOptions = {}): Promise<IncomingMessage> {
    const def: RouteDef = ROUTES[name];
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(input.query ?? {})) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    const path = pathOf(def, input.params as Record<string, string> | undefined) + (qs ? `?${qs}` : '');
    const body = def.body === null ? undefined : input.body ?? {};
    return this.transport.send(def.method, path, body, o);
  }

  health(): Promise<Health> {
    return this.call('health');
  }

  list(): Promise<JailView[]> {
    return this.call('jailList');
  }

  create(req: JailCreateRequest): Promise<JailView> {
    return this.call('jailCreate', { body: req });
  }

  inspect(name: string): Promise<JailInspect> {
    return this.call('jailInspect', { params: { name } });
  }

  start(name: string): Promise<JailView> {
    return this.call('jailStart', { params: { name } });
  }

  stop(name: string, opts: { timeoutSeconds?: number } = {}): Promise<JailView> {
    return this.call('jailStop', { params: { name }, body: opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {} });
  }

  restart(name: string): Promise<JailView> {
    return this.call('jailRestart', { params: { name } });
  }

  setDisk(name: string, disk: string): Promise<JailView> {
    return this.call('jailDisk', { params: { name }, body: { disk } });
  }

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.call('jailRemove', { params: { name }, ...(opts.force ? { query: { force: '1' } } : {}) });
  }

  exec(name: string, req: ExecRequest): Promise<ExecOutput> {
    return this.call('jailExec', { params: { name }, body: req });
  }

  /** The log text as a stream; aborting `req.signal` (or destroying the stream) hangs up. */
  logs(name: string, req: LogsRequest = {}): Promise<Readable> {
    const query = { ...(req.follow ? { follow: '1' as const } : {}), ...(req.tail !== undefined ? { tail: String(req.tail) } : {}) };
    return this.stream('jailLogs', { params: { name }, query }, { timeoutMs: 0, ...(req.signal ? { signal: req.signal } : {}) });
  }
}

async function errorOf(res: IncomingMessage): Promise<Error> {
  const text = await readBody(res);
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = text; } // not JSON: errorFromHttp reports the text as a bug
  return errorFromHttp(res.statusCode ?? 500, body);
}
