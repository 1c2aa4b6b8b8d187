import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { printResult } from '../../output.js';
import { agentClient } from '../cluster/common.js';
import { stackName, withStackOptions } from './common.js';

export default function register(program: Command, deps: CliDeps): void {
  withStackOptions(program.command('delete'), false)
    .description('remove what a stack file made: its services; every host stops and removes their replicas')
    .addHelpText('after', '\nExamples:\n  cellblock delete -f stack.yml\n  cellblock delete --name stack')
    .action(async (opts: { file?: string; name?: string }, cmd: Command) => {
      const { ctx, api } = agentClient(cmd, deps);
      const name = stackName(opts.file, opts.name);
      const r = await api.call<{ stack: string; removed: string[] }>('DELETE', `/v1/stacks/${name}`);
      printResult(ctx, `deleted stack ${r.stack}: ${r.removed.join(', ') || 'no services'}`, r);
    });
}
