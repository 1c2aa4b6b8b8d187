import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import create from './create.js';
import ls from './ls.js';
import rollback from './rollback.js';
import rm from './rm.js';
import clone from './clone.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program.command('snapshot').description('read-only, point-in-time copies of datasets (DATASET@NAME): take, list, roll back to, clone, remove');
  create(group, deps);
  ls(group, deps);
  rollback(group, deps);
  clone(group, deps);
  rm(group, deps);
}
