/** What the cluster, host and stack commands share: the local agent's client and a port option. */
import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import type { CliContext } from '../../context.js';
import type { ApiClient } from '../../../api/client.js';
import { connect } from '../jail/common.js';
import { UserError } from '../../../sys/errors.js';

/** The local agent's client, or another host's with --host (the same as the jail commands use). */
export const agentClient: (cmd: Command, deps: CliDeps) => { ctx: CliContext; api: ApiClient } = connect;

export function portOption(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new UserError(`${flag}: expected a TCP port (1-65535), got ${JSON.stringify(v)}`, `write ${flag} 7480`);
  return Number(v);
}
