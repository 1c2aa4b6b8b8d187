import type { Command } from 'commander';
import { dirname } from 'node:path';
import type { CliDeps } from '../../context.js';
import { ExitCode } from '../../exit.js';
import { UserError } from '../../../sys/errors.js';
import { ANY_CODE } from '../../../lab/lab.js';
import { CLIENT, inClient, inHost } from '../../../lab/plan.js';
import { LAB_OPTION_HELP, openLab } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('exec')
    .description('run a command on a lab host: inside its network namespace, with CELLBLOCK_DATA_DIR set to its data dir and this cellblock first on PATH; or at the lab\'s client position (`client`: an address on the switch, outside every host)')
    .argument('<host>', 'h0, h1, ... (or 0, 1, ...), or client')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--lab <name>', LAB_OPTION_HELP)
    .addHelpText('after', '\nIts output is printed when it ends; its exit code is this command\'s.\n\nExamples:\n  cellblock lab exec h0 -- cellblock status\n  cellblock lab exec h1 -- cellblock --json host ls\n  cellblock lab exec h2 -- ip -br addr\n  cellblock lab exec client -- curl -s -H "Host: site.example.com" http://VIP/   (VIP: see cellblock lab ls)')
    .action(async (host: string, command: string[], _opts: unknown, cmd: Command) => {
      const { ctx, lab } = await openLab(cmd, deps);
      const h = host === CLIENT ? undefined : lab.host(host);
      if (command.length === 0) throw new UserError('lab exec needs a command', `give it after --, e.g. cellblock lab exec ${h?.name ?? 'h0'} -- cellblock status`);
      const env = { ...process.env, ...(h ? { CELLBLOCK_DATA_DIR: h.dataDir } : {}), PATH: `${dirname(lab.bin)}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
      const r = await ctx.exec(h ? inHost(h, command) : inClient(lab.plan, command), { env, okCodes: ANY_CODE, timeoutMs: 0 });
      ctx.stdout.write(r.stdout);
      ctx.stderr.write(r.stderr);
      if (r.code !== 0) throw new ExitCode(r.code);
    });
}
