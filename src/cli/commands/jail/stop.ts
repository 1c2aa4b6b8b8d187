import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { wholeNumberOption } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('stop'))
    .description('stop a jail: SIGTERM, then SIGKILL after the timeout; it stays stopped until started (no restart policy applies)')
    .argument('<name>', 'jail name')
    .option('--timeout <seconds>', 'seconds to wait after SIGTERM before SIGKILL (agent default: 10)')
    .addHelpText('after', '\nExamples:\n  cellblock jail stop web\n  cellblock jail stop db --timeout 60')
    .action(async (name: string, opts: { timeout?: string }, cmd: Command) => {
      const timeoutSeconds = wholeNumberOption('--timeout', opts.timeout);
      const { ctx, api } = clientFor(cmd, deps);
      const view = await api.stop(name, timeoutSeconds !== undefined ? { timeoutSeconds } : {});
      const why = view.lastExitCode !== null ? ` (exit code ${view.lastExitCode})` : '';
      printResult(ctx, `stopped jail ${view.name}${why}`, view);
    });
}
