import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import type { JailCreateRequest } from '../../../jail/service.js';
import { collect, commandAfterDashes, given } from './common.js';

const USAGE = 'cellblock jail create web --image site:v1 -- /usr/bin/python3 -m http.server 8080';

/** Options as commander gives them: the request's fields but the name and the command. */
type CreateOptions = Omit<JailCreateRequest, 'name' | 'command'>;

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('create'))
    .description('create a jail: the image read-only, a writable dataset, its own IP address and limits; everything after -- is the command it runs')
    .argument('<name>', 'jail name')
    .argument('[command...]', 'the command and its arguments, after --')
    .requiredOption('--image <NAME:TAG>', 'image to run')
    .option('--ip <A.B.C.D>', 'address in this host\'s jail subnet (default: the lowest free one)')
    .option('--memory <size>', 'memory limit, e.g. 256M')
    .option('--cpus <n>', 'CPU limit in CPUs, e.g. 0.5')
    .option('--pids <n>', 'limit on processes and threads')
    .option('--disk <size>', 'limit of the jail\'s writable files (/tmp, /var, --rw dirs), e.g. 2G (default: host.json defaultDisk, else 1G)')
    .option('--env <K=V>', 'environment variable (repeatable)', collect)
    .option('--user <USER[:GROUP]>', 'user to run the command as: a name of the host (www-data, postgres:postgres) or UID[:GID]')
    .option('--rw <dir>', 'directory inside the jail that is writable and kept (repeatable)', collect)
    .option('--etc <PATH=SOURCE>', 'lay a file or dir of the image over /etc/PATH (nginx/nginx.conf=/app/etc/nginx.conf), or show the host\'s own (ssl/private=host) (repeatable)', collect)
    .option('--restart <policy>', 'restart policy: always, on-failure or no')
    .option('--start', 'start the jail right after creating it')
    .addHelpText('after', `\nExamples:\n  ${USAGE}\n  cellblock jail create db --image pg:16 --memory 1G --cpus 2 --rw /var/lib/postgresql --user 999:999 \\\n      --env PGDATA=/var/lib/postgresql/data --restart always --start -- /usr/lib/postgresql/16/bin/postgres`)
    .action(async (name: string, command: string[], opts: CreateOptions, cmd: Command) => {
      const argv = commandAfterDashes(command, USAGE);
      const { ctx, api } = clientFor(cmd, deps);
      const req: JailCreateRequest = {
        name,
        image: opts.image,
        ...given({ ip: opts.ip, memory: opts.memory, cpus: opts.cpus, pids: opts.pids, disk: opts.disk, env: opts.env, user: opts.user, rw: opts.rw, etc: opts.etc, restart: opts.restart }),
        command: argv,
        ...(opts.start ? { start: true } : {}),
      };
      const view = await api.create(req);
      const how = view.state === 'running' ? `, running as pid ${view.pid}` : '';
      printResult(ctx, `created jail ${view.name} (${view.ip}, image ${view.image}${how})`, view);
    });
}
