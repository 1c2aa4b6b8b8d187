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
      .command('create')
      .description('take a read-only snapshot of a dataset (instant on btrfs: it shares every block until the dataset changes)')
      .argument('<snapshot>', 'DATASET@NAME, for example data/app@before-upgrade'),
  )
    .addHelpText('after', '\nExamples:\n  cellblock snapshot create data/app@before-upgrade\n  cellblock snapshot create jails/web1@nightly --pool fast')
    .action(async (snapshot: string, opts: { pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const ref = parseSnapshotRef(snapshot);
      const driver = await openPool(ctx, poolName(opts));
      const info = await driver.createSnapshot(ref);
      printResult(ctx, `created snapshot ${info.dataset}@${info.name} (read-only, at ${info.path})`, info);
    });
}
