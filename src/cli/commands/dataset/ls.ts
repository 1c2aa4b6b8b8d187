import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printTable } from '../../output.js';
import { poolName, withPoolOption } from '../../pool-option.js';
import { openPool } from '../../../storage/pools.js';

export default function register(group: Command, deps: CliDeps): void {
  withPoolOption(group.command('ls').description('list the datasets of a pool, with the snapshot each was cloned from'))
    .addHelpText('after', '\nExamples:\n  cellblock dataset ls\n  cellblock dataset ls --pool fast --json')
    .action(async (opts: { pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const driver = await openPool(ctx, poolName(opts));
      const list = await driver.listDatasets();
      printTable(ctx, ['dataset', 'origin', 'path'], list.map((d) => [d.name, d.origin ?? '-', d.path]), list);
    });
}
