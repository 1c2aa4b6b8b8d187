import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { poolName, withPoolOption } from '../../pool-option.js';
import { openPool } from '../../../storage/pools.js';
import { checkDataset } from '../../../sys/names.js';

export default function register(group: Command, deps: CliDeps): void {
  withPoolOption(
    group
      .command('create')
      .description('create an empty dataset; "/" in its name are plain directories (the default pool is created on first use)')
      .argument('<dataset>', 'dataset name, for example data/app'),
  )
    .addHelpText('after', '\nExamples:\n  cellblock dataset create data/app\n  cellblock dataset create volumes/pg --pool fast')
    .action(async (dataset: string, opts: { pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      checkDataset(dataset);
      const driver = await openPool(ctx, poolName(opts), { create: true });
      const info = await driver.createDataset(dataset);
      printResult(ctx, `created dataset ${info.name} at ${info.path}`, info);
    });
}
