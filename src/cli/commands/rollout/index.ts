import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import status from './status.js';
import history from './history.js';
import undo from './undo.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program
    .command('rollout')
    .description('rolling deploys of a service: follow one, see the last ones, undo the last (see docs/load-balancing.md)');
  for (const r of [status, history, undo]) r(group, deps);
}
