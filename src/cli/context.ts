/** What every command gets: the data dir, output mode, the exec helper. Passed in, never global. */
import type { Command } from 'commander';
import { exec as realExec, type Exec } from '../sys/exec.js';
import type { PoolContext } from '../storage/driver.js';

/** What the entry point hands every command (tests pass a recording exec). */
export interface CliDeps {
  exec?: Exec;
}

export const DEFAULT_DATA_DIR = '/var/lib/cellblock';

export interface CliContext extends PoolContext {
  json: boolean;
  /** True when stdout is a terminal and --json is off: progress bars and colours are allowed. */
  interactive: boolean;
  exec: Exec;
  dataDir: string;
  /** --host ADDR[:PORT]: the agent of another cluster host, over mutual TLS. */
  host?: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
  host?: string;
}

export function contextFrom(cmd: Command, deps: CliDeps = {}): CliContext {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const json = Boolean(g.json);
  return {
    dataDir: g.dataDir ?? process.env.CELLBLOCK_DATA_DIR ?? DEFAULT_DATA_DIR,
    ...(g.host !== undefined ? { host: g.host } : {}),
    json,
    interactive: !json && Boolean(process.stdout.isTTY),
    exec: deps.exec ?? realExec,
    stdout: process.stdout,
    stderr: process.stderr,
  };
}
