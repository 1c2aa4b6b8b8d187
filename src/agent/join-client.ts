/**
 * The joining side's one request to the join listener of a cluster host: POST /v1/join over
 * TLS, trusting only the CA the token vouched for (there is no client certificate yet).
 */
import { request } from 'node:https';
import { UserError } from '../sys/errors.js';
import type { JoinResponse } from './join.js';

/** POST /v1/join on the join listener, trusting only the CA the token vouched for. */
export function postJoin(address: string, port: number, caPem: string, body: unknown): Promise<JoinResponse> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request({
      host: address, port, method: 'POST', path: '/v1/join', ca: caPem, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': payload.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: { error?: { message?: string; fix?: string } } & Partial<JoinResponse>;
        try { parsed = JSON.parse(text); } catch { reject(new UserError(`the join listener at ${address}:${port} answered ${res.statusCode} with no JSON`, 'is that a cellblock host of the same version?')); return; }
        if (res.statusCode !== 200) reject(new UserError(`joining through ${address}:${port} was refused: ${parsed.error?.message ?? text}`, parsed.error?.fix ?? 'get a fresh token and try again'));
        else resolve(parsed as JoinResponse);
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (err) => reject(new UserError(`cannot reach the join listener at ${address}:${port}: ${err.message}`, 'check the address and that the host there ran cellblock cluster init (or joined as an etcd member) and its agent runs')));
    req.end(payload);
  });
}
