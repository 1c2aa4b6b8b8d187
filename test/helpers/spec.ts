/** Stack files in tests. */
import assert from 'node:assert/strict';
import { formatIssue, parseStack, StackError } from '../../src/spec/parse.js';

/** The issues of a file that must not parse, as printed: `file:line:col path: message; fix` (the file is stack.yml). */
export function stackErrors(lines: readonly string[]): string[] {
  try {
    parseStack(lines.join('\n') + '\n', 'stack.yml');
  } catch (e) {
    if (e instanceof StackError) return e.issues.map(formatIssue);
    throw e;
  }
  return assert.fail('the file parsed');
}
