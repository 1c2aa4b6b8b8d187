import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { poolName, withPoolOption } from '../../pool-option.js';
import { openPool } from '../../../storage/pools.js';
import { checkDataset, parseSnapshotRef } from '../../../sys/names.js';

export default function register(group: Command, deps: CliDeps): void {
  withPoolOption(
    group
      .command('clone')
      .description('make a new writable dataset that starts as a snapshot\'s contents (instant on btrfs: blocks are shared)')
      .argument('<snapshot>', 'DATASET@NAME to start from')
      .argument('<dataset>', 'name of the new dataset'),
  )
    .addHelpText('after', '\nExamples:\n  cellblock snapshot clone data/app@before-upgrade data/app-test')
    .action(async (snapshot: string, dataset: string, opts: { pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const ref = parseSnapshotRef(snapshot);
      checkDataset(dataset);
      const driver = await openPool(ctx, poolName(opts));
      const info = await driver.clone(ref, dataset);
      printResult(ctx, `cloned ${snapshot} to dataset ${info.name} at ${info.path}`, info);
    });
}
