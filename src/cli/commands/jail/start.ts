import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('start'))
    .description('start a created or stopped jail; its restart policy applies from now on')
    .argument('<name>', 'jail name')
    .addHelpText('after', '\nExample:\n  cellblock jail start web')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const view = await api.start(name);
      printResult(ctx, `started jail ${view.name} (pid ${view.pid ?? '-'})`, view);
    });
}
