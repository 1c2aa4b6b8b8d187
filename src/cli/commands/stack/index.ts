import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import validate from './validate.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program
    .command('stack')
    .description('stack files: the services a cluster should run, declared in YAML (see docs/stack-files.md)');
  validate(group, deps);
}
