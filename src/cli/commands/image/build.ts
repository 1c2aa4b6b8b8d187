import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { openPool, DEFAULT_POOL } from '../../../storage/pools.js';
import { buildImage, checkBuild } from '../../../storage/images/build.js';
import { formatImageRef, parseImageRef } from '../../../sys/names.js';
import { UserError } from '../../../sys/errors.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('build')
    .description('make a read-only image NAME:TAG from a directory; by default a copy-on-write child of the newest tag of NAME')
    .argument('<image>', 'NAME:TAG of the new image')
    .argument('<dir>', 'directory with the application files')
    .option('--from <image>', 'parent image NAME:TAG to build on (default: the newest tag of the same name)')
    .option('--no-parent', 'build from scratch, sharing nothing with earlier tags')
    .option('--pool <name>', 'pool to build in (the default pool is created on first use)', DEFAULT_POOL)
    .addHelpText('after', '\nExamples:\n  cellblock image build site:v1 examples/site\n  cellblock image build site:v2 ./site            # child of site:v1: only changed files are written\n  cellblock image build site:v3 ./site --from site:v1')
    .action(async (image: string, dir: string, opts: { from?: string; parent: boolean; pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const ref = parseImageRef(image, 'image');
      if (opts.from !== undefined && !opts.parent) throw new UserError('--from and --no-parent cannot be used together', 'keep one: --from NAME:TAG to pick a parent, --no-parent for none');
      const from = opts.from !== undefined ? parseImageRef(opts.from, '--from') : opts.parent ? undefined : null;
      // refuse bad input before the default pool is created for it
      await checkBuild({ dataDir: ctx.dataDir, ref, dir, from, pool: opts.pool });
      const driver = await openPool(ctx, opts.pool, { create: true });
      const rec = await buildImage({ exec: ctx.exec, dataDir: ctx.dataDir, driver, ref, dir, from });
      printResult(ctx, `built image ${formatImageRef(ref)} in pool ${rec.pool}${rec.parent ? ` (child of ${formatImageRef(rec.parent)})` : ''}`, rec);
    });
}
