import type { Command } from 'commander';
import { Option } from 'commander';
import pino from 'pino';
import type { CliDeps } from '../context.js';
import { contextFrom } from '../context.js';
import { startAgent } from '../../agent/daemon.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export default function register(program: Command, deps: CliDeps): void {
  program
    .command('agent')
    .description('run the per-host daemon: serves the jail API on DATA_DIR/run/agent.sock (root only) and supervises restart policies; logs JSON lines to stdout. Jails keep running when it stops.')
    .addOption(new Option('--log-level <level>', 'least severe level to log').choices(LEVELS).default('info'))
    .option('--subnet <cidr>', "this host's jail subnet, fixed on first start (default 10.77.0.0/24); its first address goes to the host's bridge")
    .addHelpText('after', '\nExamples:\n  sudo cellblock agent\n  sudo cellblock --data-dir /srv/cellblock agent --log-level debug\n  sudo cellblock agent --subnet 10.77.3.0/24     # each host of a cluster needs a subnet of its own\n\nStop it with SIGTERM or Ctrl-C; jails keep running and the next agent adopts them.')
    .action(async (opts: { logLevel: string; subnet?: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const log = pino(
        { level: opts.logLevel, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
        pino.destination({ dest: 1, sync: true }),
      );
      const onCrash = (err: unknown, origin: string) => log.fatal({ err, origin }, 'agent crashed');
      process.on('uncaughtExceptionMonitor', onCrash);
      const agent = await startAgent({ dataDir: ctx.dataDir, exec: ctx.exec, log, subnet: opts.subnet, version: program.version() });
      try {
        await agent.done;
      } finally {
        process.off('uncaughtExceptionMonitor', onCrash);
        // Everything is closed; if some handle still holds the event loop, do not hang around.
        setTimeout(() => {
          log.warn('something still holds the event loop after shutdown; exiting anyway');
          process.exit(process.exitCode ?? 0);
        }, 3000).unref();
      }
    });
}
