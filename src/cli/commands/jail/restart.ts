import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('restart'))
    .description('stop a jail if it runs, then start it again')
    .argument('<name>', 'jail name')
    .addHelpText('after', '\nExample:\n  cellblock jail restart web')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const view = await api.restart(name);
      printResult(ctx, `restarted jail ${view.name} (pid ${view.pid ?? '-'})`, view);
    });
}
