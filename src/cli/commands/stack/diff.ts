import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printJson } from '../../output.js';
import type { ServiceDiff } from '../../../api/contract.js';
import { readStackInput, withStackOptions } from './common.js';

export function printDiff(out: NodeJS.WritableStream, stack: string, diff: ServiceDiff[]): void {
  const sign = { add: '+', remove: '-', update: '~', scale: '~', config: '~', none: '=' } as const;
  // config: publish or deploy changed; said so, since nothing rolls out
  const word = (c: ServiceDiff['change']) => (c === 'config' ? 'config (no rollout)' : c);
  for (const d of diff) out.write(`${sign[d.change]} ${stack}/${d.service}: ${d.change === 'none' ? 'unchanged' : `${word(d.change)}${d.details.length ? ` (${d.details.join('; ')})` : ''}`}\n`);
}

export default function register(program: Command, deps: CliDeps): void {
  withStackOptions(remote(program.command('diff')))
    .description('show what cellblock apply -f FILE would change: services added, updated (rolling), scaled or removed')
    .addHelpText('after', '\nNothing is changed.\n\nExamples:\n  cellblock diff -f stack.yml')
    .action(async (opts: { file: string; name?: string }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const input = await readStackInput(opts);
      const diff = await api.call('stackDiff', { params: { name: input.name }, body: { file: input.file, text: input.text, ...(Object.keys(input.files).length ? { files: input.files } : {}) } });
      if (ctx.json) printJson(ctx, diff);
      else printDiff(ctx.stdout, input.name, diff);
    });
}
