import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { printResult } from '../../output.js';
import { connect } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('restart')
    .description('stop a jail if it runs, then start it again')
    .argument('<name>', 'jail name')
    .addHelpText('after', '\nExample:\n  cellblock jail restart web')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = connect(cmd, deps);
      const view = await api.restart(name);
      printResult(ctx, `restarted jail ${view.name} (pid ${view.pid ?? '-'})`, view);
    });
}
