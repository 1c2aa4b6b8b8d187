import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printTable } from '../../output.js';
import { diskText } from './render.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('ls'))
    .description('list the jails of this host with their state, address, image, restart count, PID and disk use against its limit')
    .addHelpText('after', '\nExamples:\n  cellblock jail ls\n  cellblock jail ls --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const jails = await api.list();
      printTable(
        ctx,
        ['name', 'state', 'ip', 'image', 'restarts', 'pid', 'disk'],
        jails.map((j) => [j.name, j.state, j.ip, j.image, j.restarts, j.pid ?? '-', diskText(j)]),
        jails,
      );
    });
}
