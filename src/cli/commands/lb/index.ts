import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import status from './status.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program
    .command('lb')
    .description('the load balancer: HAProxy on every host, in front of the published services')
    .addHelpText('after', '\nExamples:\n  cellblock lb status');
  status(group, deps);
}
