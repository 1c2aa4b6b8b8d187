import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import build from './build.js';
import ls from './ls.js';
import exportCmd from './export.js';
import importCmd from './import.js';
import rm from './rm.js';
import push from './push.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program.command('image').description('application images: read-only snapshots built from a directory, shipped as incremental streams');
  build(group, deps);
  ls(group, deps);
  exportCmd(group, deps);
  importCmd(group, deps);
  rm(group, deps);
  push(group, deps);
}
