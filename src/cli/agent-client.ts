/**
 * The agent a command talks to: this host's, over its root-only unix socket; or, with
 * `--host ADDR[:PORT]`, another cluster host's over mutual TLS with this host's certificate
 * (DATA_DIR/cluster/tls, readable by root only). A command accepts --host only when it opts
 * in at registration (`remote(cmd)`); every other command refuses it before doing anything.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { ApiClient } from '../api/client.js';
import { DEFAULT_API_PORT } from '../cluster/config.js';
import { readTls, tlsDir } from '../cluster/pki.js';
import { UserError } from '../sys/errors.js';
import { contextFrom, type CliContext, type CliDeps } from './context.js';

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

const REMOTE = Symbol('cellblock.remote');

/** Opts a command in to --host: it works the same against another cluster host's agent. */
export function remote<C extends Command>(cmd: C): C {
  Object.defineProperty(cmd, REMOTE, { value: true });
  return cmd;
}

export function acceptsHost(cmd: Command): boolean {
  return (cmd as unknown as Record<symbol, unknown>)[REMOTE] === true;
}

/** `jail ls`: the command's words after the program's name. */
export function commandPath(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x && x.parent; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((s) => [s, ...allCommands(s)]);
}

/** Refuses --host (given anywhere on the line) for a command that did not opt in. */
export function refuseHostWhereLocal(action: Command): void {
  if (action.optsWithGlobals<{ host?: string }>().host === undefined || acceptsHost(action)) return;
  let root: Command = action;
  while (root.parent) root = root.parent;
  const remotes = allCommands(root).filter(acceptsHost).map(commandPath);
  throw new UserError(`--host does not apply to cellblock ${commandPath(action)}: it works on this host only`, `run it on the other host itself; --host works with: ${remotes.join(', ')}`);
}

export function agentClientFor(ctx: CliContext): ApiClient {
  if (ctx.host === undefined) return ApiClient.forDataDir(ctx.dataDir);
  const { address, port } = parseHostOption(ctx.host);
  return ApiClient.forDataDir(ctx.dataDir, { remote: { address, port, tls: () => readTls(tlsDir(ctx.dataDir)) } });
}

/** The one way a command gets its context and its agent's client (another host's with --host, where it opted in). */
export function clientFor(cmd: Command, deps: CliDeps): { ctx: CliContext; api: ApiClient } {
  refuseHostWhereLocal(cmd);
  const ctx = contextFrom(cmd, deps);
  return { ctx, api: agentClientFor(ctx) };
}
