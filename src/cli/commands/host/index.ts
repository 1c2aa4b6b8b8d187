import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import check from './check.js';
import bootstrap from './bootstrap.js';
import ls from './ls.js';
import control from './control.js';
import stopAndReset from './stop.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program
    .command('host')
    .description('this host\'s tools (check, bootstrap) and the cluster\'s hosts (ls, cordon, drain, uncordon)')
    .addHelpText('after', '\nExamples:\n  cellblock host check                # table of tools and kernel features\n  cellblock host bootstrap --dry-run  # show the apt-get command that would install what is missing\n  cellblock host bootstrap            # install it');
  check(group, deps);
  bootstrap(group, deps);
  ls(group, deps);
  control(group, deps);
  stopAndReset(group, deps);
}
