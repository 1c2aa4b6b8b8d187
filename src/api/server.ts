/**
 * The agent's HTTP API, on its unix socket (socket.ts) and over mutual TLS: routes by the
 * contract (contract.ts, router.ts), calls one handler per route (jail-handlers.ts; the
 * cluster's from src/agent/http), and maps errors to statuses in one place (errors.ts).
 * Every request is logged as one JSON line.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { Logger } from 'pino';
import type { JailService } from '../jail/service.js';
import { logError, logWarn } from '../sys/log.js';
import type { RouteName } from './contract.js';
import { STREAM_TYPES } from './contract/define.js';
import { errorToHttp } from './errors.js';
import type { ClusterHandlers, Handlers, StreamOut } from './handlers.js';
import { readJsonBody, sendJson, MAX_BODY_BYTES } from './http.js';
import { jailHandlers } from './jail-handlers.js';
import { decodeParams, matchRoute, MethodNotAllowed, parseQuery, parseWith } from './router.js';

export { MethodNotAllowed, noRoute } from './router.js';
export type { ClusterHandlers, Handlers, StreamOut } from './handlers.js';

export const API_VERSION = 'v1';

/** The cluster's handlers (src/agent/http); routes without a handler answer 404. */
export type ExtraRoutes = Partial<ClusterHandlers>;

/**
 * What to do when a handler's reply does not match the contract: `throw` (tests: a 500 bug),
 * `log` (the default: log a bug line and send the reply anyway), `off`.
 */
export type ReplyCheck = 'throw' | 'log' | 'off';

export interface ApiServerOptions {
  maxBodyBytes?: number;
  /** Reported by /v1/health. */
  version?: string | undefined;
  /** The cluster routes' handlers. */
  extra?: ExtraRoutes | undefined;
  /** Serve HTTPS with these options (mutual TLS: requestCert + rejectUnauthorized). */
  tls?: TlsServerOptions;
  checkReplies?: ReplyCheck;
}

export interface ApiServer extends Server {
  /**
   * Stops accepting connections, ends streams, lets requests in flight finish for up to
   * `graceMs`, then cuts what is left. Resolves when every connection is closed.
   */
  shutdown(graceMs?: number): Promise<void>;
}

type AnyHandler = (input: { params: Record<string, string>; query: unknown; body: unknown }, out?: StreamOut) => Promise<unknown>;

export function createApiServer(service: JailService, log: Logger, opts: ApiServerOptions = {}): ApiServer {
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const check = opts.checkReplies ?? 'log';
  const handlers: Partial<Handlers> = { ...jailHandlers(service, log, { version: opts.version, startedAt: Date.now() }), ...opts.extra };
  const streams = new Set<AbortController>();
  let closing = false;

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const m = matchRoute(method, url.pathname, (n) => handlers[n] !== undefined);
    const handler = handlers[m.name] as unknown as AnyHandler;
    const params = decodeParams(m.name, m.def, m.rawParams);
    const query = parseQuery(m.name, m.def, url.searchParams);
    const body = m.def.body === null ? undefined : parseWith(m.name, 'body', m.def.body, (await readJsonBody(req, limit)) ?? {});
    const input = { params, query, body };
    if (m.def.stream) {
      await stream(m.def.stream, handler, input, res);
      return;
    }
    const reply = await handler(input);
    if (m.def.reply && check !== 'off') checkReply(m.name, m.def.reply, reply);
    sendJson(res, m.def.status ?? 200, reply, closing ? { connection: 'close' } : {});
  }

  function checkReply(name: RouteName, schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, reply: unknown): void {
    const r = schema.safeParse(reply);
    if (r.success) return;
    const i = r.error!.issues[0]!;
    const err = new Error(`the reply of ${name} does not match the contract at ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    if (check === 'throw') throw err;
    logError(log, err, 'bug: a reply does not match the API contract; sent anyway', { route: name });
  }

  async function stream(kind: keyof typeof STREAM_TYPES, handler: AnyHandler, input: Parameters<AnyHandler>[0], res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    streams.add(abort);
    res.on('close', () => { streams.delete(abort); abort.abort(); });
    const out: StreamOut = {
      res,
      signal: abort.signal,
      start(headers = {}) {
        if (!res.headersSent) res.writeHead(200, { 'content-type': STREAM_TYPES[kind], ...headers });
      },
    };
    if (closing) abort.abort();
    try {
      await handler(input, out);
    } catch (e) {
      // before the head: the caller answers with the error; after it, the stream is cut
      streams.delete(abort);
      throw e;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://agent');
    res.on('close', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      log.info({ method: req.method, path: url.pathname + url.search, status: res.statusCode, ms: Math.round(ms * 10) / 10, ...(res.writableFinished ? {} : { aborted: true }) }, 'request');
      if (closing) server.closeIdleConnections();
    });
    try {
      await route(req, res, url);
    } catch (err) {
      const { status, body: errBody } = errorToHttp(err);
      if (status === 500 && errBody.error.kind === 'bug') logError(log, err, 'bug: unexpected error while serving a request', { method: req.method, path: url.pathname });
      else if (status >= 500) logWarn(log, err, 'request failed', { method: req.method, path: url.pathname });
      if (res.headersSent) { res.destroy(); return; }
      const headers: Record<string, string> = {};
      if (err instanceof MethodNotAllowed) headers.allow = err.allowed.join(', ');
      if (status === 413 || closing) headers.connection = 'close';
      sendJson(res, status, errBody, headers);
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => { void handle(req, res); };
  const server = (opts.tls ? createHttpsServer(opts.tls, onRequest) : createServer(onRequest)) as ApiServer;
  server.on('clientError', (err, socket) => {
    logWarn(log, err, 'bad HTTP request; answered 400');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  server.on('tlsClientError', (err: Error, socket: { remoteAddress?: string }) => {
    logWarn(log, err, 'refused a TLS client (mutual TLS: a certificate of this cluster is required)', { remote: socket.remoteAddress });
  });
  server.shutdown = (graceMs = 10_000) => new Promise<void>((resolve) => {
    closing = true;
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    cut.unref();
    server.close(() => { clearTimeout(cut); resolve(); });
    for (const s of [...streams]) s.abort();
    server.closeIdleConnections();
  });
  return server;
}
