import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import create from './create.js';
import start from './start.js';
import stop from './stop.js';
import restart from './restart.js';
import rm from './rm.js';
import ls from './ls.js';
import inspect from './inspect.js';
import execCmd from './exec.js';
import logs from './logs.js';
import disk from './disk.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program
    .command('jail')
    .description('jails: an image, a writable dataset, an IP address and a supervised process, served by the local agent');
  for (const r of [create, start, stop, restart, disk, rm, ls, inspect, execCmd, logs]) r(group, deps);
}
