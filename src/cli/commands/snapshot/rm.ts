import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { poolName, withPoolOption } from '../../pool-option.js';
import { openPool } from '../../../storage/pools.js';
import { NotFoundError } from '../../../sys/errors.js';
import { parseSnapshotRef } from '../../../sys/names.js';

export default function register(group: Command, deps: CliDeps): void {
  withPoolOption(
    group
      .command('rm')
      .description('remove a snapshot; the dataset and its other snapshots are not touched')
      .argument('<snapshot>', 'DATASET@NAME'),
  )
    .addHelpText('after', '\nExamples:\n  cellblock snapshot rm data/app@before-upgrade')
    .action(async (snapshot: string, opts: { pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const ref = parseSnapshotRef(snapshot);
      const pool = poolName(opts);
      const driver = await openPool(ctx, pool);
      if (!(await driver.snapshotExists(ref))) {
        throw new NotFoundError(`snapshot ${snapshot} does not exist in pool ${pool}`, `see the snapshots there are: cellblock snapshot ls ${ref.dataset} --pool ${pool}`);
      }
      await driver.destroySnapshot(ref);
      printResult(ctx, `removed snapshot ${snapshot}`, { removed: snapshot });
    });
}
