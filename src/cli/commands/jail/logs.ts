import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { UserError } from '../../../sys/errors.js';
import { wholeNumberOption } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('logs'))
    .description('print a jail\'s output ("<time> <stream> <line>"), and with -f keep printing new lines until interrupted')
    .argument('<name>', 'jail name')
    .option('-f, --follow', 'keep printing new lines')
    .option('--tail <lines>', 'only the last N lines')
    .addHelpText('after', '\nExamples:\n  cellblock jail logs web\n  cellblock jail logs -f --tail 20 web')
    .action(async (name: string, opts: { follow?: boolean; tail?: string }, cmd: Command) => {
      const tail = wholeNumberOption('--tail', opts.tail);
      const { ctx, api } = clientFor(cmd, deps);
      const stream = await api.logs(name, { follow: Boolean(opts.follow), ...(tail !== undefined ? { tail } : {}) });
      await new Promise<void>((resolve, reject) => {
        const out = ctx.stdout;
        // stdout closed by a reader such as `head`: stop quietly.
        const onOutError = () => { stream.destroy(); resolve(); };
        out.once('error', onOutError);
        stream.once('end', () => { out.off('error', onOutError); resolve(); });
        stream.once('error', (err) => {
          out.off('error', onOutError);
          reject(new UserError(`the log stream from the agent broke off: ${err.message}`, 'check that the agent is still running: cellblock agent, or its systemd unit'));
        });
        stream.pipe(out, { end: false });
      });
    });
}
