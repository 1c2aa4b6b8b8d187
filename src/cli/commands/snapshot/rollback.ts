import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { poolName, withPoolOption } from '../../pool-option.js';
import { openPool } from '../../../storage/pools.js';
import { parseSnapshotRef } from '../../../sys/names.js';

export default function register(group: Command, deps: CliDeps): void {
  withPoolOption(
    group
      .command('rollback')
      .description('make a dataset\'s contents those of one of its snapshots; changes since are lost, later snapshots are kept')
      .argument('<snapshot>', 'DATASET@NAME to go back to'),
  )
    .addHelpText('after', '\nExamples:\n  cellblock snapshot rollback data/app@before-upgrade\n\nThe new contents are built next to the dataset first, then swapped in: a failure leaves the dataset as it was.')
    .action(async (snapshot: string, opts: { pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const ref = parseSnapshotRef(snapshot);
      const driver = await openPool(ctx, poolName(opts));
      await driver.rollback(ref);
      printResult(ctx, `rolled back ${ref.dataset} to ${ref.dataset}@${ref.snapshot}`, { dataset: ref.dataset, snapshot: ref.snapshot, path: driver.datasetPath(ref.dataset) });
    });
}
