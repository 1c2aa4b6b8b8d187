import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printJson } from '../../output.js';
import { ExitCode } from '../../exit.js';
import type { ExecRequest } from '../../../jail/service.js';
import { collect, commandAfterDashes, given, wholeNumberOption } from './common.js';

const USAGE = 'cellblock jail exec web -- /bin/ls -l /app';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('exec'))
    .description('run a command inside a running jail and print its output; exits with the command\'s exit code')
    .argument('<name>', 'jail name')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('--user <UID[:GID]>', 'run as this user (default: the jail\'s user)')
    .option('--env <K=V>', 'extra environment variable (repeatable)', collect)
    .option('--timeout <seconds>', 'kill the command after this many seconds')
    .addHelpText('after', `\nExamples:\n  ${USAGE}\n  cellblock jail exec --user 0 --env PGUSER=postgres db -- /usr/bin/psql -c 'select 1'`)
    .action(async (name: string, command: string[], opts: { user?: string; env?: string[]; timeout?: string }, cmd: Command) => {
      const argv = commandAfterDashes(command, USAGE);
      const timeoutSeconds = wholeNumberOption('--timeout', opts.timeout);
      const { ctx, api } = clientFor(cmd, deps);
      const req: ExecRequest = { command: argv, ...given({ user: opts.user, env: opts.env, timeoutSeconds }) };
      const out = await api.exec(name, req);
      if (ctx.json) printJson(ctx, out);
      else {
        ctx.stdout.write(out.stdout);
        ctx.stderr.write(out.stderr);
      }
      if (out.exitCode !== 0) throw new ExitCode(out.exitCode);
    });
}
