/** What apply, diff, delete and validate share: the stack file read and validated (its tls files too), and the stack's name. */
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseStack, readStackText, stackErrorAt } from '../../../spec/parse.js';
import { checkCerts, MAX_TLS_FILE_BYTES, tlsFilesOf } from '../../../lb/certs.js';
import { MAX_BODY_BYTES } from '../../../api/http.js';
import type { Stack } from '../../../spec/types.js';
import { checkStackName } from '../../../cluster/stacks.js';
import { UserError } from '../../../sys/errors.js';

/**
 * The file's text goes to the agent, which parses it again; `stack` is parsed here first for a
 * fast error. `files`: the tls files it names, read relative to its directory, by the path as written.
 */
export interface StackInput { name: string; file: string; text: string; stack: Stack; files: Record<string, string> }

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
  return { name, ...(await readCheckedStack(opts.file)) };
}

/** The stack file parsed, its tls files read and checked (lb/certs.ts) as the agent will: every problem at its line. */
export async function readCheckedStack(file: string, now = new Date()): Promise<{ file: string; text: string; stack: Stack; files: Record<string, string> }> {
  const text = await readStackText(file);
  const stack = parseStack(text, file);
  const { files, unreadable } = await readTlsFiles(stack, file);
  const { problems } = checkCerts(stack, files, now, unreadable);
  if (problems.length > 0) throw stackErrorAt(text, file, problems);
  // the agent takes requests up to MAX_BODY_BYTES: say so here rather than get a bare 413
  const bytes = JSON.stringify({ file, text, files }).length;
  if (bytes > MAX_BODY_BYTES - 4096) {
    throw new UserError(`${file} and the tls files it names are ${Math.ceil(bytes / 1024)} KiB together, more than the agent takes (${MAX_BODY_BYTES / 1024} KiB)`, 'split the stack into smaller stack files, or use certificates without long chains');
  }
  return { file, text, stack, files };
}

/** Each cert and key file the stack names, relative to the stack file's directory; why one could not be read. */
export async function readTlsFiles(stack: Stack, stackFile: string): Promise<{ files: Record<string, string>; unreadable: Record<string, string> }> {
  const files: Record<string, string> = {};
  const unreadable: Record<string, string> = {};
  const dir = dirname(stackFile);
  for (const path of tlsFilesOf(stack)) {
    const full = isAbsolute(path) ? path : resolve(dir, path);
    try {
      const buf = await readFile(full);
      if (buf.length > MAX_TLS_FILE_BYTES) unreadable[path] = `it is larger than ${MAX_TLS_FILE_BYTES / 1024} KiB`;
      else files[path] = buf.toString('utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : undefined;
      if (why === undefined) throw e;
      unreadable[path] = `${why} (${full})`;
    }
  }
  return { files, unreadable };
}

export function withStackOptions(cmd: Command, fileRequired = true): Command {
  (fileRequired ? cmd.requiredOption('-f, --file <file>', 'the stack file, for example stack.yml') : cmd.option('-f, --file <file>', 'the stack file, for example stack.yml'));
  return cmd.option('--name <name>', 'the stack\'s name (default: the file name without .yml)');
}
