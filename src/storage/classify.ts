/**
 * How the storage drivers decide how a tool failed (STYLE.md §5), once, in each driver's
 * classify.ts: a list of rules (tool, exit codes, a named stderr pattern tagged with the tool
 * version that prints it) turned into `ExecError.kind`. Call sites read the kind, never stderr.
 */
import { ExecError, type ExecFailure } from '../sys/errors.js';
import type { Exec, ExecOptions, ExecResult } from '../sys/exec.js';

export interface Rule {
  /** argv[0] (its basename) the rule applies to; undefined = any tool. */
  tool?: string | readonly string[];
  /** Exit codes the rule applies to; undefined = any non-zero code. */
  codes?: readonly number[];
  pattern: RegExp;
  kind: ExecFailure;
}

/**
 * A classifier from rules: sets `kind` on a plain failure ('failed') of a matching tool, by the
 * first rule that matches; any other kind, and anything that is not an ExecError, is kept.
 */
export function classifier(rules: readonly Rule[]): <E>(e: E) => E {
  return <E>(e: E): E => {
    if (!(e instanceof ExecError) || e.kind !== 'failed' || e.exitCode === null || e.exitCode === 0) return e;
    const tool = e.argv[0]?.split('/').pop();
    for (const r of rules) {
      if (r.tool !== undefined && !(typeof r.tool === 'string' ? r.tool === tool : tool !== undefined && r.tool.includes(tool))) continue;
      if (r.codes !== undefined && !r.codes.includes(e.exitCode)) continue;
      if (r.pattern.test(e.stderr)) {
        e.kind = r.kind;
        break;
      }
    }
    return e;
  };
}

/** `exec` whose failures are thrown classified. */
export function classifiedRun(classify: (e: unknown) => unknown): (exec: Exec, argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult> {
  return async (exec, argv, opts) => {
    try {
      return await exec(argv, opts);
    } catch (e) {
      throw classify(e);
    }
  };
}

export function isKind(e: unknown, kind: ExecFailure): e is ExecError {
  return e instanceof ExecError && e.kind === kind;
}
