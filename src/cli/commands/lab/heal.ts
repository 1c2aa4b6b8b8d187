import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { LAB_OPTION_HELP, openLab } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('heal')
    .description("undo lab cut: the host's switch port joins the bridge again")
    .argument('<host>', 'h0, h1, ...')
    .option('--lab <name>', LAB_OPTION_HELP)
    .addHelpText('after', '\nExamples:\n  cellblock lab cut h2\n  cellblock lab heal h2')
    .action(async (host: string, _opts: unknown, cmd: Command) => {
      const { ctx, lab } = await openLab(cmd, deps);
      const h = lab.host(host);
      await lab.heal(h.index);
      printResult(ctx, `restored the link of ${h.name} (${h.address}) in lab ${lab.name}`, { lab: lab.name, host: h.name, link: 'up' });
    });
}
