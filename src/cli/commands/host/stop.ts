import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { UserError } from '../../../sys/errors.js';
import { describeStopped, stopHost } from '../../../lab/host-teardown.js';
import registerReset from './reset.js';

export function parseGrace(raw: string): number {
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(n) || n > 600) throw new UserError(`--grace: expected seconds from 0 to 600, got ${JSON.stringify(raw)}`, 'give e.g. --grace 10');
  return n * 1000;
}

/** Registers `host stop` and `host reset` (reset.ts). */
export default function register(group: Command, deps: CliDeps): void {
  registerStop(group, deps);
  registerReset(group, deps);
}

function registerStop(group: Command, deps: CliDeps): void {
  group
    .command('stop')
    .description('stop everything cellblock runs on this host: the agent, the jails and the etcd member (also when the agent is already dead)')
    .option('--grace <seconds>', 'how long each gets after SIGTERM before SIGKILL', '10')
    .addHelpText('after', '\nThe jails\' data, images and pools stay: start the agent again and it restarts the jails by their restart policies. To remove them too: cellblock host reset --yes.\n\nExamples:\n  sudo cellblock host stop\n  sudo cellblock --data-dir /srv/cellblock host stop --json')
    .action(async (opts: { grace: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      if (process.getuid?.() !== 0) throw new UserError('host stop needs root: it signals the agent, etcd and the jails', 'run it with sudo');
      const stopped = await stopHost(ctx.dataDir, ctx.exec, { graceMs: parseGrace(opts.grace) });
      printResult(ctx, stopped.length ? `stopped ${describeStopped(stopped)}` : `nothing of ${ctx.dataDir} was running`, { dataDir: ctx.dataDir, stopped });
    });
}
