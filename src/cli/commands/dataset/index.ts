import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import create from './create.js';
import ls from './ls.js';
import rm from './rm.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program.command('dataset').description('datasets: writable trees in a pool (btrfs subvolumes), named like data/app');
  create(group, deps);
  ls(group, deps);
  rm(group, deps);
}
