/**
 * The agent's HTTP API over its unix socket (socket.ts): JSON routes under /v1 that call a
 * JailService, and the logs route that streams text. Errors are mapped to statuses and bodies
 * in one place (errors.ts); every request is logged as one JSON line.
 *
 *   GET    /v1/health
 *   GET    /v1/jails                         -> JailView[]
 *   POST   /v1/jails                         JailCreateRequest -> 201 JailView
 *   GET    /v1/jails/:name                   -> JailInspect
 *   POST   /v1/jails/:name/start|restart     -> JailView
 *   POST   /v1/jails/:name/stop              {timeoutSeconds?} -> JailView
 *   DELETE /v1/jails/:name?force=1           -> {removed}
 *   POST   /v1/jails/:name/exec              ExecRequest -> ExecOutput
 *   GET    /v1/jails/:name/logs?follow=1&tail=N   text/plain, streamed
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { JailService } from '../jail/service.js';
import { checkName } from '../sys/names.js';
import { errorToHttp, RequestError } from './errors.js';
import { flag, queryOf, readJsonBody, sendJson, wholeNumber, MAX_BODY_BYTES } from './http.js';
import { emptySchema, execSchema, jailCreateSchema, parseBody, stopSchema } from './schema.js';

export const API_VERSION = 'v1';

export interface ApiServerOptions {
  maxBodyBytes?: number;
  /** Reported by /v1/health. */
  version?: string;
  /** Routes beyond the jail routes (the cluster's); undefined means "not mine". */
  extra?: ExtraRoutes;
  /** Serve HTTPS with these options (mutual TLS: requestCert + rejectUnauthorized). */
  tls?: TlsServerOptions;
}

/** What an extra route handler gets: the parsed request, and the body reader. */
export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  method: string;
  /** The path's segments after /v1. */
  parts: string[];
  body(): Promise<unknown>;
}

export type Reply = { status: number; body: unknown } | 'streamed';

export type ExtraRoutes = (r: RouteRequest) => Promise<Reply | undefined>;

export interface ApiServer extends Server {
  /**
   * Stops accepting connections, ends log streams, lets requests in flight finish for up to
   * `graceMs`, then cuts what is left. Resolves when every connection is closed.
   */
  shutdown(graceMs?: number): Promise<void>;
}

interface LogStream { abort: AbortController; stream: Readable; res: ServerResponse }

export function createApiServer(service: JailService, log: Logger, opts: ApiServerOptions = {}): ApiServer {
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const startedAt = Date.now();
  const streams = new Set<LogStream>();
  let closing = false;

  const body = (req: IncomingMessage) => readJsonBody(req, limit);

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Reply> {
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (parts[0] !== API_VERSION) throw noRoute(method, url);
    const [, collection, rawName, action, ...rest] = parts;
    if (collection === 'health' && parts.length === 2) {
      allow(method, ['GET']);
      queryOf(url, []);
      return { status: 200, body: { ok: true, pid: process.pid, version: opts.version ?? null, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) } };
    }
    if (collection !== 'jails' && opts.extra) {
      const reply = await opts.extra({ req, res, url, method, parts: parts.slice(1), body: () => body(req) });
      if (reply !== undefined) return reply;
    }
    if (collection !== 'jails' || rest.length > 0) throw noRoute(method, url);
    if (rawName === undefined) {
      allow(method, ['GET', 'POST']);
      queryOf(url, []);
      if (method === 'GET') return { status: 200, body: await service.list() };
      const reqBody = parseBody(jailCreateSchema, await body(req), 'jail create request');
      return { status: 201, body: await service.create(reqBody) };
    }
    const name = jailName(rawName);
    if (action === undefined) {
      allow(method, ['GET', 'DELETE']);
      if (method === 'GET') {
        queryOf(url, []);
        return { status: 200, body: await service.inspect(name) };
      }
      const force = flag(queryOf(url, ['force']), 'force');
      await service.remove(name, { force });
      return { status: 200, body: { removed: name } };
    }
    switch (action) {
      case 'start':
      case 'restart': {
        allow(method, ['POST']);
        queryOf(url, []);
        parseBody(emptySchema, (await body(req)) ?? {}, `${action} request`);
        return { status: 200, body: action === 'start' ? await service.start(name) : await service.restart(name) };
      }
      case 'stop': {
        allow(method, ['POST']);
        queryOf(url, []);
        const b = parseBody(stopSchema, (await body(req)) ?? {}, 'stop request');
        return { status: 200, body: await service.stop(name, b.timeoutSeconds !== undefined ? { timeoutSeconds: b.timeoutSeconds } : {}) };
      }
      case 'exec': {
        allow(method, ['POST']);
        queryOf(url, []);
        const b = parseBody(execSchema, await body(req), 'exec request');
        return { status: 200, body: await service.exec(name, b) };
      }
      case 'logs': {
        allow(method, ['GET']);
        const q = queryOf(url, ['follow', 'tail']);
        await streamLogs(res, name, flag(q, 'follow'), wholeNumber(q, 'tail'));
        return 'streamed';
      }
      default:
        throw noRoute(method, url);
    }
  }

  async function streamLogs(res: ServerResponse, name: string, follow: boolean, tail: number | undefined): Promise<void> {
    const abort = new AbortController();
    const stream = await service.logs(name, { follow, ...(tail !== undefined ? { tail } : {}), signal: abort.signal });
    const entry: LogStream = { abort, stream, res };
    streams.add(entry);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.flushHeaders();
    res.on('close', () => {
      streams.delete(entry);
      // The client went away (or the stream ended): stop the service's stream either way.
      if (!abort.signal.aborted) abort.abort();
      if (!stream.destroyed) stream.destroy();
    });
    stream.on('error', (err) => {
      log.error({ err, jail: name }, 'log stream failed');
      res.destroy(err);
    });
    stream.pipe(res);
    if (closing) endStream(entry);
  }

  function endStream(s: LogStream): void {
    s.abort.abort();
    s.stream.unpipe(s.res);
    s.stream.destroy();
    s.res.end();
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
      const reply = await route(req, res, url);
      if (reply !== 'streamed') sendJson(res, reply.status, reply.body, closing ? { connection: 'close' } : {});
    } catch (err) {
      const { status, body: errBody } = errorToHttp(err);
      if (status === 500 && errBody.error.kind === 'bug') log.error({ err, method: req.method, path: url.pathname }, 'bug: unexpected error while serving a request');
      else if (status >= 500) log.warn({ err: errBody.error, method: req.method, path: url.pathname }, 'request failed');
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
    log.warn({ err: { message: err.message } }, 'bad HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  server.on('tlsClientError', (err: Error, socket: { remoteAddress?: string }) => {
    log.warn({ err: { message: err.message }, remote: socket.remoteAddress }, 'refused a TLS client (mutual TLS: a certificate of this cluster is required)');
  });
  server.shutdown = (graceMs = 10_000) => new Promise<void>((resolve) => {
    closing = true;
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    cut.unref();
    server.close(() => { clearTimeout(cut); resolve(); });
    for (const s of [...streams]) endStream(s);
    server.closeIdleConnections();
  });
  return server;
}

export class MethodNotAllowed extends RequestError {
  constructor(method: string, readonly allowed: string[]) {
    super(405, `method ${method} is not allowed here`, `use ${allowed.join(' or ')}`);
  }
}

export function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) throw new MethodNotAllowed(method, allowed);
}

export function noRoute(method: string, url: URL): RequestError {
  return new RequestError(404, `no such API route: ${method} ${url.pathname}`, 'see src/api/server.ts for the routes of this agent; client and agent may be of different versions');
}

function jailName(raw: string): string {
  let name: string;
  try { name = decodeURIComponent(raw); } catch { throw new RequestError(400, `invalid jail name in the path: ${JSON.stringify(raw)}`); }
  return checkName('jail', name);
}
