import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { readCheckedStack } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('validate')
    .description('check a stack file without a cluster: every error with its line and column, or the normalized stack with --json')
    .requiredOption('-f, --file <file>', 'the stack file, for example stack.yml')
    .addHelpText('after', [
      '',
      'Nothing is changed. Exits 1 and lists every problem as FILE:LINE:COL FIELD: what is wrong; fix.',
      'The certificates and keys of publish.tls are read (relative to the file) and checked too.',
      'With --json, prints the stack with every default filled in (sizes in bytes, durations in ms).',
      '',
      'Examples:',
      '  cellblock stack validate -f stack.yml',
      '  cellblock stack validate -f stack.yml --json',
    ].join('\n'))
    .action(async (opts: { file: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const { stack } = await readCheckedStack(opts.file);
      const n = Object.keys(stack.services).length;
      printResult(ctx, `${opts.file}: ok, ${n} ${n === 1 ? 'service' : 'services'}`, stack);
    });
}
