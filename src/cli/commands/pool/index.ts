import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import create from './create.js';
import ls from './ls.js';
import destroy from './destroy.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program.command('pool').description('manage storage pools (btrfs on a loop file by default, an existing btrfs mount, zfs, or plain directories)');
  create(group, deps);
  ls(group, deps);
  destroy(group, deps);
}
