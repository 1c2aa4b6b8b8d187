import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import check from './check.js';
import bootstrap from './bootstrap.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program
    .command('host')
    .description('check that this host has the tools and kernel features cellblock needs, and install missing tools')
    .addHelpText('after', '\nExamples:\n  cellblock host check                # table of tools and kernel features\n  cellblock host bootstrap --dry-run  # show the apt-get command that would install what is missing\n  cellblock host bootstrap            # install it');
  check(group, deps);
  bootstrap(group, deps);
}
