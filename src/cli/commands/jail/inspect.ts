import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { formatInspect } from './render.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('inspect'))
    .description('show one jail: state, command, limits with current usage (memory 12.3M / 256M), paths; --json for everything')
    .argument('<name>', 'jail name')
    .addHelpText('after', '\nExamples:\n  cellblock jail inspect web\n  cellblock jail inspect web --json')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const j = await api.inspect(name);
      printResult(ctx, formatInspect(j), j);
    });
}
