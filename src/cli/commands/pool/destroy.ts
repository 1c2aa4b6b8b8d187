import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { destroyPool, DEFAULT_POOL } from '../../../storage/pools.js';
import { UserError } from '../../../sys/errors.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('destroy')
    .description('remove a pool and everything in it: datasets, snapshots, images, the mount, loop device and loop file')
    .argument('[name]', 'pool name', DEFAULT_POOL)
    .option('--yes', 'confirm: every dataset, snapshot and image in the pool is deleted')
    .action(async (name: string, opts: { yes?: boolean }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      if (!opts.yes) throw new UserError(`refusing to destroy pool ${name} without --yes`, `everything in the pool is deleted; run: cellblock pool destroy${name === DEFAULT_POOL ? '' : ' ' + name} --yes`);
      const rec = await destroyPool(ctx, name);
      printResult(ctx, `destroyed pool ${rec.name}`, { destroyed: rec.name });
    });
}
