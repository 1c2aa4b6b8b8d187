import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { LAB_OPTION_HELP, openLab } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('kill')
    .description('a power cut of a lab host: SIGKILL to every process of it at once (agent, etcd member, conmon, jails)')
    .argument('<host>', 'h0, h1, ...')
    .option('--lab <name>', LAB_OPTION_HELP)
    .addHelpText('after', '\nThe host\'s namespace, data dir and pool stay; lab down removes them.\n\nExamples:\n  cellblock lab kill h1\n  cellblock lab kill h1 --json')
    .action(async (host: string, _opts: unknown, cmd: Command) => {
      const { ctx, lab } = await openLab(cmd, deps);
      const h = lab.host(host);
      const killed = await lab.kill(h.index);
      const what = killed.map((k) => `${k.kind}${k.jail ? ` ${k.jail}` : ''} ${k.pid}`).join(', ');
      printResult(ctx, `killed ${h.name}: ${killed.length ? what : 'nothing was running'}`, { lab: lab.name, host: h.name, killed });
    });
}
