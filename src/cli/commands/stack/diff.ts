import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { printJson } from '../../output.js';
import { agentClient } from '../cluster/common.js';
import type { ServiceDiff } from '../../../cluster/stacks.js';
import { readStackInput, withStackOptions } from './common.js';

export function printDiff(out: NodeJS.WritableStream, stack: string, diff: ServiceDiff[]): void {
  const sign = { add: '+', remove: '-', update: '~', scale: '~', none: '=' } as const;
  for (const d of diff) out.write(`${sign[d.change]} ${stack}/${d.service}: ${d.change === 'none' ? 'unchanged' : `${d.change}${d.details.length ? ` (${d.details.join('; ')})` : ''}`}\n`);
}

export default function register(program: Command, deps: CliDeps): void {
  withStackOptions(program.command('diff'))
    .description('show what cellblock apply -f FILE would change: services added, updated (rolling), scaled or removed')
    .addHelpText('after', '\nNothing is changed.\n\nExamples:\n  cellblock diff -f stack.yml')
    .action(async (opts: { file: string; name?: string }, cmd: Command) => {
      const { ctx, api } = agentClient(cmd, deps);
      const input = await readStackInput(opts);
      const diff = await api.call<ServiceDiff[]>('POST', `/v1/stacks/${input.name}/diff`, { file: input.file, stack: input.stack });
      if (ctx.json) printJson(ctx, diff);
      else printDiff(ctx.stdout, input.name, diff);
    });
}
