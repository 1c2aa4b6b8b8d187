import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { printResult } from '../../output.js';
import { connect } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('rm')
    .description('remove a jail and everything made for it: writable dataset, address, network, cgroup; a running jail needs --force')
    .argument('<name>', 'jail name')
    .option('--force', 'stop it first if it is running')
    .addHelpText('after', '\nExamples:\n  cellblock jail rm web\n  cellblock jail rm --force web')
    .action(async (name: string, opts: { force?: boolean }, cmd: Command) => {
      const { ctx, api } = connect(cmd, deps);
      await api.remove(name, { force: Boolean(opts.force) });
      printResult(ctx, `removed jail ${name}`, { removed: name });
    });
}
