/** Serves a FakeJailService (and cluster handlers, if given) on DIR/run/agent.sock, replies checked against the contract, for API and CLI tests; raw HTTP helpers. */
import { request, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createApiServer, type ApiServer, type ExtraRoutes } from '../../src/api/server.js';
import { listenOnSocket } from '../../src/api/socket.js';
import { ApiClient } from '../../src/api/client.js';
import { FakeJailService } from './fake-jail-service.js';

export interface Harness {
  dir: string;
  socket: string;
  fake: FakeJailService;
  server: ApiServer;
  /** Log lines the server wrote, parsed. */
  logLines: Record<string, unknown>[];
  /** A client for this socket (which is owned by the test's user, root or not). */
  client(): ApiClient;
  close(): Promise<void>;
}

export async function startHarness(prefix = 'cellblock-api-', opts: { maxBodyBytes?: number; extra?: ExtraRoutes } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const uid = process.getuid?.() ?? 0;
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) logLines.push(JSON.parse(l)); cb(); } });
  const log = pino({ level: 'debug' }, sink);
  const fake = new FakeJailService();
  const server = createApiServer(fake, log, { version: 'test', checkReplies: 'throw', ...opts });
  let socket: string;
  try {
    socket = await listenOnSocket(server, dir, uid);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir, socket, fake, server, logLines,
    client: () => ApiClient.forDataDir(dir, { uid }),
    async close() {
      try {
        if (server.listening) await server.shutdown(100);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface RawResponse { status: number; headers: IncomingHttpHeaders; text: string; json: any }

/** One raw HTTP request on a unix socket; `body` objects are sent as JSON. */
export function raw(socketPath: string, method: string, path: string, body?: unknown, headers: Record<string, string | number> = {}): Promise<RawResponse> {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const h: Record<string, string | number> = { ...headers };
  if (payload) {
    h['content-length'] ??= payload.length;
    if (typeof body === 'object' && !Buffer.isBuffer(body)) h['content-type'] ??= 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Waits until `cond` holds (polling), or fails after `ms`. */
export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
