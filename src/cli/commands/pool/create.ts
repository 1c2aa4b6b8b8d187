import { Option, type Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { createPool, DEFAULT_POOL } from '../../../storage/pools.js';
import { DRIVER_NAMES, type DriverName } from '../../../storage/driver.js';
import { driverFactory } from '../../../storage/registry.js';
import { parseSize, formatSize } from '../../../sys/size.js';
import { UserError } from '../../../sys/errors.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('create')
    .description('create a pool: by default a btrfs filesystem on a sparse loop file under the data dir')
    .argument('[name]', 'pool name', DEFAULT_POOL)
    .addOption(new Option('--driver <driver>', 'storage driver').choices([...DRIVER_NAMES]).default('btrfs'))
    .option('--size <size>', 'size of the loop file for a new btrfs pool (e.g. 512M, 20G)', '20G')
    .option('--path <path>', 'use an existing btrfs mount (btrfs), a directory (dir) or a dataset such as tank/cellblock (zfs)')
    .addHelpText('after', '\nExamples:\n  cellblock pool create                      # 20G btrfs loop pool named "default"\n  cellblock pool create --size 2G\n  cellblock pool create --driver dir --path /srv/cellblock\n  cellblock pool create --driver zfs --path tank/cellblock')
    .action(async (name: string, opts: { driver: string; size: string; path?: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const driver = driverFactory(opts.driver).name as DriverName;
      const sizeGiven = cmd.getOptionValueSource('size') === 'cli';
      if (opts.path !== undefined && opts.path.trim() === '') throw new UserError('--path is empty', 'give the path of an existing mount or directory, or leave --path out');
      if (sizeGiven && opts.path !== undefined) throw new UserError('--size and --path cannot be used together', 'a pool on an existing --path takes the size of what is there; leave --size out');
      if (sizeGiven && driver === 'dir') throw new UserError('--size does not apply to the dir driver', 'a dir pool uses the space of the filesystem its directory is on; leave --size out');
      if (driver === 'zfs' && opts.path === undefined) throw new UserError('the zfs driver needs --path', 'give an existing zfs pool or dataset, for example --path tank/cellblock');
      const size = opts.path === undefined ? parseSize('--size', opts.size, { min: 256 * 1024 ** 2 }) : undefined;
      const rec = await createPool(ctx, { name, driver, size, path: opts.path });
      const where = rec.source.kind === 'loop' ? `loop file ${rec.source.file} (${formatSize(rec.source.size)}, sparse)` : rec.source.kind === 'path' ? rec.source.path : rec.source.dataset;
      printResult(ctx, `created pool ${rec.name}: ${rec.driver} on ${where}, mounted at ${rec.mountpoint}`, rec);
    });
}
