/**
 * Agent-to-agent (and remote CLI) requests over the cluster's mutual TLS: the client presents
 * this host's certificate and trusts only the cluster CA. Errors come back as the classes the
 * peer threw (errors.ts), so a refusal on another host reads the same as a local one.
 */
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { UserError } from '../sys/errors.js';
import { errorFromHttp } from './errors.js';
import { urlHost } from '../cluster/etcd.js';

export type { TlsMaterial } from '../cluster/pki.js';
import type { TlsMaterial } from '../cluster/pki.js';

export interface PeerTarget {
  /** Host name, for messages. */
  name: string;
  address: string;
  apiPort: number;
}

export interface PeerRequestOptions {
  body?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Sends one request; resolves with the response (any status) once its headers arrive. */
export function peerRequest(tls: TlsMaterial, to: PeerTarget, method: string, path: string, o: PeerRequestOptions = {}): Promise<IncomingMessage> {
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
  const opts: RequestOptions = {
    host: to.address, port: to.apiPort, method, path, headers,
    ca: tls.ca, cert: tls.cert, key: tls.key, agent: false,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = request(opts, resolve);
    const idle = o.timeoutMs ?? 10_000; // 0: no limit
    if (idle > 0) req.setTimeout(idle, () => req.destroy(new Error(`no answer within ${Math.round(idle / 1000)} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(new UserError(
        `cannot reach the agent of host ${to.name} at https://${urlHost(to.address)}:${to.apiPort}: ${err.message}`,
        'check that its agent runs and that the port is open between the hosts',
      ));
    });
    req.end(payload);
  });
}

export async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON request; a status >= 400 throws the error the peer described. */
export async function peerJson<T>(tls: TlsMaterial, to: PeerTarget, method: string, path: string, o: PeerRequestOptions = {}): Promise<T> {
  const res = await peerRequest(tls, to, method, path, o);
  const text = await readBody(res);
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = text; }
  if ((res.statusCode ?? 500) >= 400) throw errorFromHttp(res.statusCode ?? 500, body);
  return body as T;
}
