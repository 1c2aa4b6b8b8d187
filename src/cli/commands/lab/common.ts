/** What the lab commands share: the lab root (--root, env CELLBLOCK_LAB_ROOT) and the lab library's deps. */
import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom, type CliContext } from '../../context.js';
import { DEFAULT_LAB_NAME, DEFAULT_LAB_ROOT, checkLabName } from '../../../lab/plan.js';
import { Lab, type LabDeps } from '../../../lab/lab.js';
import { UserError } from '../../../sys/errors.js';

export function labRoot(cmd: Command): string {
  return cmd.optsWithGlobals<{ root?: string }>().root ?? process.env.CELLBLOCK_LAB_ROOT ?? DEFAULT_LAB_ROOT;
}

export function labContext(cmd: Command, deps: CliDeps): { ctx: CliContext; root: string; labDeps: LabDeps } {
  const ctx = contextFrom(cmd, deps);
  return { ctx, root: labRoot(cmd), labDeps: { exec: ctx.exec, progress: (l) => { if (!ctx.json) ctx.stderr.write(`  ${l}\n`); } } };
}

/** The lab named by --lab (default "lab"), opened from its record. */
export async function openLab(cmd: Command, deps: CliDeps): Promise<{ ctx: CliContext; lab: Lab }> {
  const { ctx, root, labDeps } = labContext(cmd, deps);
  if (process.getuid?.() !== 0) throw new UserError('this lab command needs root: it enters the lab\'s network namespaces', 'run it with sudo');
  const name = checkLabName(cmd.optsWithGlobals<{ lab?: string }>().lab ?? DEFAULT_LAB_NAME, '--lab');
  return { ctx, lab: await Lab.open(root, name, labDeps) };
}

export const LAB_OPTION_HELP = 'the lab (default "lab")';
