/** What the cluster, host and stack commands share: the local agent's client and a port option. */
import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { contextFrom, type CliContext } from '../../context.js';
import { ApiClient } from '../../../api/client.js';
import { UserError } from '../../../sys/errors.js';

export function agentClient(cmd: Command, deps: CliDeps): { ctx: CliContext; api: ApiClient } {
  const ctx = contextFrom(cmd, deps);
  return { ctx, api: ApiClient.forDataDir(ctx.dataDir) };
}

export function portOption(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new UserError(`${flag}: expected a TCP port (1-65535), got ${JSON.stringify(v)}`, `write ${flag} 7480`);
  return Number(v);
}
