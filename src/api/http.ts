/** HTTP plumbing for the agent API: bounded JSON bodies, query parameters, JSON responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestError } from './errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;
/** Past this many bytes a refused body is not drained any more: the connection is cut. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Reads a JSON request body of at most `limit` bytes. An empty body is `undefined`. A body
 * that is too large is drained (so the client can read the 413) and refused.
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_DRAIN_BYTES) {
    req.destroy();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= limit) chunks.push(b);
      else if (size > MAX_DRAIN_BYTES) req.destroy();
    });
    req.on('end', resolve);
    req.on('error', reject);
    req.on('close', () => { if (!req.complete) reject(new RequestError(400, 'the request body was cut off')); });
  });
  if (size > limit) throw tooLarge(limit);
  if (size === 0) return undefined;
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new RequestError(415, `request body must be JSON, got content type ${JSON.stringify(type || '(none)')}`, 'send the header Content-Type: application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new RequestError(400, `request body is not valid JSON: ${(e as Error).message}`, 'send a JSON object');
  }
}

function tooLarge(limit: number): RequestError {
  return new RequestError(413, `request body is larger than ${limit} bytes`, 'send a smaller request');
}

/** Query parameters, refusing any not in `allowed`. */
export function queryOf(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    if (!allowed.includes(k)) {
      throw new RequestError(400, `unknown query parameter ${JSON.stringify(k)}`, allowed.length ? `use only: ${allowed.join(', ')}` : 'this route takes no query parameters');
    }
    out.set(k, v);
  }
  return out;
}

export function flag(q: Map<string, string>, key: string): boolean {
  const v = q.get(key);
  if (v === undefined) return false;
  if (['1', 'true', 'yes', ''].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw new RequestError(400, `query parameter ${key}: expected 1 or 0, got ${JSON.stringify(v)}`, `write ${key}=1 or leave it out`);
}

export function wholeNumber(q: Map<string, string>, key: string): number | undefined {
  const v = q.get(key);
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new RequestError(400, `query parameter ${key}: expected a whole number >= 0, got ${JSON.stringify(v)}`, `write ${key}=N, for example ${key}=100`);
  return Number(v);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
