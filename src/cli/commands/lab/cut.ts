import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { LAB_OPTION_HELP, openLab } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('cut')
    .description("partition a lab host: its switch port leaves the bridge (it keeps its address and routes, and hears nothing)")
    .argument('<host>', 'h0, h1, ...')
    .option('--lab <name>', LAB_OPTION_HELP)
    .addHelpText('after', '\nExamples:\n  cellblock lab cut h2\n  cellblock lab exec h0 -- cellblock status   # h2 is down after a few seconds; its replicas move\n  cellblock lab heal h2')
    .action(async (host: string, _opts: unknown, cmd: Command) => {
      const { ctx, lab } = await openLab(cmd, deps);
      const h = lab.host(host);
      await lab.cut(h.index);
      printResult(ctx, `cut the link of ${h.name} (${h.address}) in lab ${lab.name}`, { lab: lab.name, host: h.name, link: 'cut' });
    });
}
