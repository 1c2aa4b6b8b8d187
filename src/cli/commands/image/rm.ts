import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { openPool } from '../../../storage/pools.js';
import { childrenOf, getImage, imageDataset, imageSnapshot, removeImageRecord } from '../../../storage/images/store.js';
import { formatImageRef, parseImageRef } from '../../../sys/names.js';
import { UserError } from '../../../sys/errors.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('rm')
    .description('remove an image (its snapshot and record); images built on it keep their own blocks')
    .argument('<image>', 'NAME:TAG')
    .action(async (image: string, _opts: unknown, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const ref = parseImageRef(image, 'image');
      const rec = await getImage(ctx.dataDir, ref);
      const kids = await childrenOf(ctx.dataDir, ref);
      const driver = await openPool(ctx, rec.pool);
      if (kids.length && !driver.info.snapshotsOutliveDataset) {
        throw new UserError(`image ${image} is the parent of ${kids.map(formatImageRef).join(', ')} and pool ${rec.pool} (${driver.info.name}) cannot remove a parent`, 'remove the child images first');
      }
      await driver.destroySnapshot(imageSnapshot(ref));
      await driver.destroyDataset(imageDataset(ref));
      await removeImageRecord(ctx.dataDir, ref);
      printResult(ctx, `removed image ${formatImageRef(ref)}`, { removed: formatImageRef(ref) });
    });
}
