/**
 * Agent-to-agent requests over the cluster's mutual TLS: the client presents this host's
 * certificate and trusts only the cluster CA. `ApiClient.forPeer` is the typed client;
 * `peerRequest` the raw one, for a stream (an image); `postJoin` the join request, which has
 * no client certificate yet. All three use the one HTTPS request function (transport.ts).
 */
import type { IncomingMessage } from 'node:http';
import { UserError } from '../sys/errors.js';
import type { TlsMaterial } from '../cluster/pki.js';
import { joinListenerReply, type JoinListenerReply } from './contract.js';
import { httpsRequest, readBody, tlsTransport, type PeerTarget, type SendOptions } from './transport.js';

export type { TlsMaterial } from '../cluster/pki.js';
export type { PeerTarget } from './transport.js';
export { readBody } from './transport.js';

export interface PeerRequestOptions extends SendOptions {
  body?: unknown;
}

/** Sends one request; resolves with the response (any status) once its headers arrive. */
export function peerRequest(tls: TlsMaterial, to: PeerTarget, method: string, path: string, o: PeerRequestOptions = {}): Promise<IncomingMessage> {
  const { body, ...send } = o;
  return tlsTransport(() => tls, to).send(method, path, body, send);
}

/**
 * POST /v1/join on a join listener: TLS that trusts `caPem` (from the token), no client
 * certificate. A refusal reads `joining through ADDR:PORT was refused: why`, with the fix the
 * listener gave.
 */
export async function postJoin(address: string, port: number, caPem: string, body: unknown): Promise<JoinListenerReply> {
  const res = await httpsRequest({
    host: address, port, method: 'POST', path: '/v1/join', ca: caPem, body, timeoutMs: 30_000,
    unreachable: (err) => new UserError(`cannot reach the join listener at ${address}:${port}: ${err.message}`, 'check the address and that the host there ran cellblock cluster init (or joined as an etcd member) and its agent runs'),
  });
  const text = await readBody(res);
  let parsed: { error?: { message?: string; fix?: string } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new UserError(`the join listener at ${address}:${port} answered ${res.statusCode} with no JSON`, 'is that a cellblock host of the same version?');
  }
  if (res.statusCode !== 200) throw new UserError(`joining through ${address}:${port} was refused: ${parsed.error?.message ?? text}`, parsed.error?.fix ?? 'get a fresh token and try again');
  const r = joinListenerReply.safeParse(parsed);
  if (!r.success) throw new UserError(`the join listener at ${address}:${port} answered with an unexpected document: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`, 'is that a cellblock host of the same version?');
  return r.data;
}
