import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printTable } from '../../output.js';
import { poolName, withPoolOption } from '../../pool-option.js';
import { openPool } from '../../../storage/pools.js';
import { NotFoundError } from '../../../sys/errors.js';
import { checkDataset } from '../../../sys/names.js';

export default function register(group: Command, deps: CliDeps): void {
  withPoolOption(
    group
      .command('ls')
      .description('list snapshots, oldest first per dataset; snapshots of a removed dataset are listed too')
      .argument('[dataset]', 'only the snapshots of this dataset'),
  )
    .addHelpText('after', '\nExamples:\n  cellblock snapshot ls\n  cellblock snapshot ls data/app --json')
    .action(async (dataset: string | undefined, opts: { pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      if (dataset !== undefined) checkDataset(dataset);
      const pool = poolName(opts);
      const driver = await openPool(ctx, pool);
      const snaps = await driver.listSnapshots(dataset);
      if (dataset !== undefined && snaps.length === 0 && !(await driver.datasetExists(dataset))) {
        throw new NotFoundError(`dataset ${dataset} does not exist in pool ${pool}`, `see the datasets there are: cellblock dataset ls --pool ${pool}`);
      }
      printTable(
        ctx,
        ['snapshot', 'created', 'path'],
        snaps.map((s) => [`${s.dataset}@${s.name}`, s.createdAt.replace(/\.\d+Z$/, 'Z'), s.path]),
        snaps,
      );
    });
}
