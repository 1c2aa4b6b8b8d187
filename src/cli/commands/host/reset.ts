import type { Command } from 'commander';
import { join } from 'node:path';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { UserError } from '../../../sys/errors.js';
import { exists } from '../../../sys/fsutil.js';
import { describeStopped, removeHostState, stopHost } from '../../../lab/host-teardown.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('reset')
    .description('stop everything cellblock runs on this host and remove its jails, pools and state: the data dir is left empty')
    .option('--yes', 'confirm: every jail, dataset, snapshot, image and pool of this host is deleted')
    .addHelpText('after', '\nRefused while this host is in a cluster: leave it first (cellblock cluster leave).\n\nExamples:\n  sudo cellblock host reset --yes\n  sudo cellblock --data-dir /srv/cellblock host reset --yes --json')
    .action(async (opts: { yes?: boolean }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      if (!opts.yes) throw new UserError(`refusing to reset ${ctx.dataDir} without --yes`, 'every jail, dataset, snapshot, image and pool of this host is deleted; run: cellblock host reset --yes');
      if (process.getuid?.() !== 0) throw new UserError('host reset needs root: it stops the agent and jails, unmounts pools and detaches loop devices', 'run it with sudo');
      const clusterJson = join(ctx.dataDir, 'cluster', 'cluster.json');
      if (await exists(clusterJson)) throw new UserError(`this host is in a cluster (${clusterJson})`, 'leave it first: cellblock cluster leave (with the agent running), or cellblock cluster leave --force; then run host reset again');
      if (!(await exists(ctx.dataDir))) return printResult(ctx, `nothing to reset: ${ctx.dataDir} does not exist`, { dataDir: ctx.dataDir, stopped: [], removed: [] });
      const stopped = await stopHost(ctx.dataDir, ctx.exec);
      const removed = await removeHostState(ctx.dataDir, ctx.exec, { bridge: true, keepDir: true });
      printResult(ctx, [
        stopped.length ? `stopped ${describeStopped(stopped)}` : 'nothing was running',
        `removed: ${removed.join(', ') || 'nothing'}`,
      ].join('\n'), { dataDir: ctx.dataDir, stopped, removed });
    });
}
