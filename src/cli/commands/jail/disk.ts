import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { formatSize } from '../../../sys/size.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('disk'))
    .description('change a jail\'s disk limit in place, running or not: the pool applies it at once, no restart')
    .argument('<name>', 'jail name')
    .argument('<size>', 'the new limit, e.g. 5G (at least what the jail holds now, at most the pool\'s size)')
    .addHelpText('after', '\nExample:\n  cellblock jail disk db 5G')
    .action(async (name: string, size: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const view = await api.setDisk(name, size);
      const limit = view.disk?.limitBytes;
      printResult(ctx, `disk limit of jail ${view.name} is now ${limit === null || limit === undefined ? size : formatSize(limit)}${view.disk && !view.disk.enforced ? ' (not enforced by this pool\'s driver)' : ''}`, view);
    });
}
