import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('rm'))
    .description('remove a jail and everything made for it: writable dataset, address, network, cgroup; a running jail needs --force')
    .argument('<name>', 'jail name')
    .option('--force', 'stop it first if it is running')
    .addHelpText('after', '\nExamples:\n  cellblock jail rm web\n  cellblock jail rm --force web')
    .action(async (name: string, opts: { force?: boolean }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      await api.remove(name, { force: Boolean(opts.force) });
      printResult(ctx, `removed jail ${name}`, { removed: name });
    });
}
