/** The `--pool NAME` option that dataset and snapshot commands share, checked before anything runs. */
import type { Command } from 'commander';
import { DEFAULT_POOL } from '../storage/pools.js';
import { checkName } from '../sys/names.js';

export function withPoolOption(cmd: Command): Command {
  return cmd.option('--pool <name>', 'pool that holds the dataset', DEFAULT_POOL);
}

/** The pool name from --pool, validated. */
export function poolName(opts: { pool?: string }): string {
  return checkName('pool', opts.pool ?? DEFAULT_POOL);
}
