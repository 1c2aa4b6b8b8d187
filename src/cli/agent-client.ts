/**
 * The agent a command talks to: this host's, over its root-only unix socket; or, with
 * `--host ADDR[:PORT]`, another cluster host's over mutual TLS with this host's certificate
 * (DATA_DIR/cluster/tls, readable by root only).
 */
import { isIP } from 'node:net';
import { ApiClient } from '../api/client.js';
import { DEFAULT_API_PORT } from '../cluster/config.js';
import { readTls, tlsDir } from '../cluster/pki.js';
import { UserError } from '../sys/errors.js';
import type { CliContext } from './context.js';

/** ADDR, ADDR:PORT or [V6]:PORT. */
export function parseHostOption(v: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(v) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(v) ?? (isIP(v) === 6 ? [v, v, undefined] : null);
  const address = m?.[1];
  const port = m?.[2] === undefined ? DEFAULT_API_PORT : Number(m[2]);
  if (!address || isIP(address) === 0 || port < 1 || port > 65535) {
    throw new UserError(`--host ${JSON.stringify(v)}: expected ADDR or ADDR:PORT with an IP address`, 'for example --host 192.0.2.12 (the addresses are in cellblock host ls)');
  }
  return { address, port };
}

export function agentClientFor(ctx: CliContext): ApiClient {
  if (ctx.host === undefined) return ApiClient.forDataDir(ctx.dataDir);
  const { address, port } = parseHostOption(ctx.host);
  return ApiClient.forDataDir(ctx.dataDir, { remote: { address, port, tls: () => readTls(tlsDir(ctx.dataDir)) } });
}
