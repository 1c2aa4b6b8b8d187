import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import up from './up.js';
import ls from './ls.js';
import exec from './exec.js';
import cut from './cut.js';
import heal from './heal.js';
import kill from './kill.js';
import down from './down.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program
    .command('lab')
    .description('a cluster of several hosts on this machine (network namespaces on one switch, each with its own address, data dir, pool and agent): try a cluster, a failover or your own stack')
    .option('--root <dir>', 'where labs keep their data dirs, logs and records (env CELLBLOCK_LAB_ROOT, default /var/lib/cellblock-lab)')
    .addHelpText('after', '\nExamples:\n  sudo cellblock lab up --hosts 3              # three hosts h0 h1 h2, one cluster\n  sudo cellblock lab exec h0 -- cellblock status\n  sudo cellblock lab cut h2                    # h2 loses its link; watch status on h0\n  sudo cellblock lab heal h2\n  sudo cellblock lab down                      # removes everything it made\n\nSee docs/lab.md.');
  up(group, deps);
  ls(group, deps);
  exec(group, deps);
  cut(group, deps);
  heal(group, deps);
  kill(group, deps);
  down(group, deps);
}
