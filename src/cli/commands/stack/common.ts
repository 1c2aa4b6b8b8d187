/** What apply, diff and delete share: the stack file read and validated, and the stack's name. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { parseStack, readStackText } from '../../../spec/parse.js';
import type { Stack } from '../../../spec/types.js';
import { checkStackName } from '../../../cluster/stacks.js';
import { UserError } from '../../../sys/errors.js';

/** The file's text goes to the agent, which parses it again; `stack` is parsed here first for a fast error. */
export interface StackInput { name: string; file: string; text: string; stack: Stack }

/** The stack's name: --name, or the file's name without .yml/.yaml (stack.yml -> "stack"). */
export function stackName(file: string | undefined, name: string | undefined): string {
  if (name !== undefined) return checkStackName(name);
  if (!file) throw new UserError('say which stack', 'pass -f FILE (the stack is named after the file) or --name NAME');
  const base = basename(file).replace(/\.(ya?ml)$/i, '');
  try {
    return checkStackName(base);
  } catch { // checkStackName's message names the flag --name; this one says where the name came from
    throw new UserError(`the stack's name would be ${JSON.stringify(base)} (from the file name), which is not a valid stack name`, 'pass --name NAME: 1-63 lowercase letters, digits, "_" or "-"');
  }
}

export async function readStackInput(opts: { file: string; name?: string }): Promise<StackInput> {
  const name = stackName(opts.file, opts.name);
  const text = await readStackText(opts.file);
  return { name, file: opts.file, text, stack: parseStack(text, opts.file) };
}

export function withStackOptions(cmd: Command, fileRequired = true): Command {
  (fileRequired ? cmd.requiredOption('-f, --file <file>', 'the stack file, for example stack.yml') : cmd.option('-f, --file <file>', 'the stack file, for example stack.yml'));
  return cmd.option('--name <name>', 'the stack\'s name (default: the file name without .yml)');
}
