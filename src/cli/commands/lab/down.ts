import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { DEFAULT_LAB_NAME, checkLabName } from '../../../lab/plan.js';
import { downLab } from '../../../lab/lab-down.js';
import { checkLabHost } from '../../../lab/lab-up.js';
import { labContext } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('down')
    .description('remove everything a lab made: processes, namespaces, veths, bridges, mounts, loop devices, data dirs; also a half-made or crashed lab')
    .argument('[name]', 'the lab', DEFAULT_LAB_NAME)
    .addHelpText('after', '\nSafe to run twice: the second run says there was nothing to remove.\n\nExamples:\n  sudo cellblock lab down\n  sudo cellblock lab down big')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { ctx, root, labDeps } = labContext(cmd, deps);
      checkLabName(name, 'NAME');
      await checkLabHost(labDeps, { tools: false });
      const r = await downLab(root, name, labDeps);
      if (!r.found) return printResult(ctx, `lab ${name}: nothing to remove`, r);
      const procs = r.killed.length ? `killed ${r.killed.length} process${r.killed.length === 1 ? '' : 'es'} (${r.killed.map((k) => k.kind).filter((k, i, a) => a.indexOf(k) === i).join(', ')}); ` : '';
      printResult(ctx, `lab ${name} removed: ${procs}removed ${r.removed.length} things:\n${r.removed.map((x) => `  ${x}`).join('\n')}`, r);
    });
}
