/**
 * parseStack: stack-file text in, normalized Stack out, or one StackError listing every
 * problem as `file:line:col path: what is wrong; fix`, in file order. Pure; readStackFile
 * is the only part that touches the disk. Nothing is applied from a file with errors.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type * as z from 'zod';
import { UserError } from '../sys/errors.js';
import { keysWhere, keyText, locate, pathOfKeyAt, unresolvedAliases, type Target } from './locate.js';
import { stackSchema, type IssueParams } from './schema.js';
import type { Stack } from './types.js';

export interface StackIssue {
  file: string;
  line: number;
  col: number;
  /** `services.web.replicas`; empty for the document itself and for YAML syntax errors. */
  path: string;
  message: string;
  fix?: string;
}

export class StackError extends UserError {
  override name = 'StackError';
  constructor(readonly file: string, readonly issues: readonly StackIssue[]) {
    super(
      `${file} is not a valid stack file (${issues.length} ${issues.length === 1 ? 'error' : 'errors'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
      `correct ${issues.length === 1 ? 'it' : 'them'}, then check the file again with: cellblock stack validate -f ${file}`,
    );
  }
}

export function formatIssue(i: StackIssue): string {
  return `${i.file}:${i.line}:${i.col} ${i.path ? `${i.path}: ` : ''}${i.message}${i.fix ? `; ${i.fix}` : ''}`;
}

/** Larger than any stack file; stops a mistaken `-f /dev/zero` or a log file early. */
export const MAX_STACK_BYTES = 1024 * 1024;

/** The stack file's text, with the same refusals as readStackFile (missing, a directory, too large). */
export async function readStackText(path: string): Promise<string> {
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_STACK_BYTES) throw new UserError(`${path} is larger than ${MAX_STACK_BYTES / 1024} KiB`, 'give the stack file, not another file');
    return buf.toString('utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: no such file`, 'give the path of a stack file, for example -f stack.yml');
    if (code === 'EISDIR') throw new UserError(`${path} is a directory`, 'give the path of a stack file, for example -f stack.yml');
    if (code === 'EACCES') throw new UserError(`${path}: permission denied`, 'make the file readable, or run as a user who can read it');
    throw e;
  }
}

export async function readStackFile(path: string): Promise<Stack> {
  return parseStack(await readStackText(path), path);
}

/**
 * A StackError for problems found after parsing (by the agent, which knows the cluster: a
 * disk larger than any host's pool), each located in the file's text like a schema error.
 */
export function stackErrorAt(text: string, file: string, problems: readonly { path: PropertyKey[]; message: string; fix?: string }[]): StackError {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  return new StackError(file, sorted(problems.map((p) => ({
    file, ...lines.linePos(locate(doc, p.path, 'value')), path: formatPath(p.path), message: p.message, ...(p.fix ? { fix: p.fix } : {}),
  }))));
}

/** `file` is only used in messages. Throws StackError; returns a Stack only when there is no error at all. */
export function parseStack(text: string, file: string): Stack {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  const at = (offset: number) => lines.linePos(offset);

  if (doc.errors.length) throw new StackError(file, sorted(doc.errors.map((e) => yamlIssue(e, doc, file, at))));
  if (doc.contents === null) {
    throw new StackError(file, [{ file, line: 1, col: 1, path: '', message: 'the file is empty', fix: 'start with services: and one service; see examples/stack.yml' }]);
  }
  const unresolved = unresolvedAliases(doc);
  if (unresolved.length) {
    throw new StackError(file, unresolved.map(([offset, name]) => ({
      file, ...at(offset), path: '', message: `alias *${name} has no anchor`, fix: `define &${name} on a value above it, or write the value out`,
    })));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // yaml refuses alias expansions that explode ("billion laughs"); nothing else is expected here
    if (!(e instanceof Error)) throw e;
    throw new StackError(file, [{ file, line: 1, col: 1, path: '', message: e.message, fix: 'use fewer aliases' }]);
  }
  // zod's records drop a key named __proto__ without a word, so it is refused here, wherever it is
  const proto = keysWhere(doc, (k) => keyText(k) === '__proto__').map(([offset, path]): StackIssue => ({
    file, ...at(offset), path: formatPath(path), message: 'a key named __proto__ is not allowed', fix: 'rename it',
  }));
  const result = stackSchema.safeParse(data);
  if (result.success && proto.length === 0) return result.data;
  const issues = result.success ? [] : result.error.issues.filter((iss) => !iss.path.includes('__proto__') && !(iss.code === 'unrecognized_keys' && iss.keys.includes('__proto__')));
  throw new StackError(file, sorted([...proto, ...issues.flatMap((iss) => toIssues(iss, doc, file, at))]));
}

function yamlIssue(e: YAMLError, doc: Document, file: string, at: (o: number) => { line: number; col: number }): StackIssue {
  const where = { file, ...at(e.pos[0]) };
  if (e.code === 'DUPLICATE_KEY') {
    const path = pathOfKeyAt(doc, e.pos[0]) ?? [];
    return { ...where, path: formatPath(path), message: 'duplicate key', fix: 'give each key once in a map' };
  }
  if (e.code === 'MULTIPLE_DOCS') {
    return { ...where, path: '', message: 'a second YAML document starts here', fix: 'keep one document: remove this --- and what follows, or merge it into the first' };
  }
  return { ...where, path: '', message: e.message, fix: 'check the indentation, colons, quotes and brackets here' };
}

function toIssues(iss: z.core.$ZodIssue, doc: Document, file: string, at: (o: number) => { line: number; col: number }): StackIssue[] {
  const place = (path: readonly PropertyKey[], target: Target) => ({ file, ...at(locate(doc, path, target)), path: formatPath(path) });
  if (iss.code === 'unrecognized_keys') {
    // schema.ts sets the message of this issue to the allowed keys
    const allowed = iss.message.split(', ');
    return iss.keys.map((k) => {
      const near = closest(k, allowed);
      return { ...place([...iss.path, k], 'key'), message: 'unknown field', fix: `${near ? `did you mean ${JSON.stringify(near)}? ` : ''}allowed fields: ${allowed.join(', ')}` };
    });
  }
  const params = (iss.code === 'custom' ? iss.params ?? {} : {}) as IssueParams;
  return [{ ...place(iss.path, params.on ?? 'value'), message: iss.message, ...(params.fix ? { fix: params.fix } : {}) }];
}

function sorted(issues: StackIssue[]): StackIssue[] {
  return issues.map((i, n) => ({ i, n })).sort((a, b) => a.i.line - b.i.line || a.i.col - b.i.col || a.n - b.n).map(({ i }) => i);
}

/** services.web.command[2]; a key that is not a plain word is quoted: services["a.b"]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(seg))) out += `${out ? '.' : ''}${String(seg)}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** The allowed key a typo most likely meant: edit distance at most 2, or a different case. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const a of allowed) {
    const d = distance(key.toLowerCase(), a);
    if (d < bestD) [best, bestD] = [a, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
