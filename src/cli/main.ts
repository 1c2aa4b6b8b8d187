/**
 * The CLI entry point: global options, command groups, and the one error handler
 * (STYLE.md §13): UserError -> message and fix, exit 1; ExecError -> the command and its
 * stderr, exit 2; NotSupportedError -> exit 3; anything else is a bug: stack, exit 70.
 */
import { Command, CommanderError, Option } from 'commander';
import { ExecError, NotSupportedError, UserError } from '../sys/errors.js';
import { DEFAULT_DATA_DIR, type CliDeps } from './context.js';
import { refuseHostWhereLocal } from './agent-client.js';
import { COMMAND_GROUPS } from './commands/index.js';
import { ExitCode } from './exit.js';

export type { CliDeps } from './context.js';

export function buildProgram(deps: CliDeps = {}): Command {
  const program = new Command('cellblock');
  program
    .description('Application-layer high availability: thin jails on copy-on-write pools.')
    .version('0.1.0', '-V, --version')
    .addOption(new Option('--data-dir <dir>', `where this instance keeps its state (env CELLBLOCK_DATA_DIR, default ${DEFAULT_DATA_DIR})`))
    .option('--json', 'print machine-readable JSON instead of tables and progress bars')
    .option('--host <addr[:port]>', 'talk to the agent of another cluster host over mutual TLS (default: this host\'s agent over its unix socket); only commands that talk to an agent accept it')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true })
    .exitOverride();
  for (const register of COMMAND_GROUPS) register(program, deps);
  program.hook('preAction', (_root, action) => refuseHostWhereLocal(action));
  for (const c of allCommands(program)) c.exitOverride().showHelpAfterError('(run with --help for usage)');
  return program;
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((s) => [s, ...allCommands(s)]);
}

export function formatError(err: unknown): { text: string; code: number } {
  if (err instanceof UserError) {
    return { text: `error: ${err.message}${err.fix ? `\n  fix: ${err.fix}` : ''}`, code: 1 };
  }
  if (err instanceof ExecError) {
    return { text: `error: ${err.message}`, code: 2 };
  }
  if (err instanceof NotSupportedError) {
    return { text: `error: ${err.message}`, code: 3 };
  }
  const stack = err instanceof Error ? err.stack ?? err.message : String(err);
  return { text: `internal error (a bug in cellblock; please report it with this output):\n${stack}`, code: 70 };
}

export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const program = buildProgram(deps);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed help, the version, or the usage error
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 1;
    }
    if (err instanceof ExitCode) return err.code;
    const { text, code } = formatError(err);
    process.stderr.write(text + '\n');
    return code;
  }
}
