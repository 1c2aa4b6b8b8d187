import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { stackName, withStackOptions } from './common.js';

export default function register(program: Command, deps: CliDeps): void {
  withStackOptions(remote(program.command('delete')), false)
    .description('remove what a stack file made: its services; every host stops and removes their replicas')
    .addHelpText('after', '\nExamples:\n  cellblock delete -f stack.yml\n  cellblock delete --name stack')
    .action(async (opts: { file?: string; name?: string }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const name = stackName(opts.file, opts.name);
      const r = await api.call('stackDelete', { params: { name } });
      printResult(ctx, `deleted stack ${r.stack}: ${r.removed.join(', ') || 'no services'}`, r);
    });
}
