import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { poolName, withPoolOption } from '../../pool-option.js';
import { openPool } from '../../../storage/pools.js';
import { NotFoundError } from '../../../sys/errors.js';
import { checkDataset } from '../../../sys/names.js';

export default function register(group: Command, deps: CliDeps): void {
  withPoolOption(
    group
      .command('rm')
      .description('remove a dataset and its snapshots (with --keep-snapshots only the dataset)')
      .argument('<dataset>', 'dataset name')
      .option('--keep-snapshots', 'keep the snapshots; they can be cloned or rolled back to later'),
  )
    .addHelpText('after', '\nExamples:\n  cellblock dataset rm data/app-test\n  cellblock dataset rm data/app --keep-snapshots')
    .action(async (dataset: string, opts: { pool: string; keepSnapshots?: boolean }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      checkDataset(dataset);
      const pool = poolName(opts);
      const driver = await openPool(ctx, pool);
      const head = await driver.datasetExists(dataset);
      const snaps = opts.keepSnapshots ? [] : await driver.listSnapshots(dataset);
      if (!head && snaps.length === 0) {
        throw new NotFoundError(`dataset ${dataset} does not exist in pool ${pool}`, `see the datasets there are: cellblock dataset ls --pool ${pool}`);
      }
      await driver.destroyDataset(dataset, { keepSnapshots: Boolean(opts.keepSnapshots) });
      const what = [head ? 'the dataset' : '', snaps.length ? `${snaps.length} snapshot(s)` : ''].filter(Boolean).join(' and ');
      printResult(ctx, `removed ${dataset}: ${what}`, { removed: dataset, dataset: head, snapshots: snaps.map((s) => `${s.dataset}@${s.name}`) });
    });
}
