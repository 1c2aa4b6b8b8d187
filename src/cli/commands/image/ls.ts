import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printTable } from '../../output.js';
import { openPool } from '../../../storage/pools.js';
import { imageSnapshot, listImages } from '../../../storage/images/store.js';
import type { StorageDriver } from '../../../storage/driver.js';
import { formatImageRef } from '../../../sys/names.js';
import { formatSize } from '../../../sys/size.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('ls')
    .description('list images with their parent and their exclusive bytes (only theirs) and shared bytes (shared with other images)')
    .argument('[name]', 'only the tags of this image name')
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const images = await listImages(ctx.dataDir, name);
      const pools = new Map<string, StorageDriver>();
      const data = [];
      for (const img of images) {
        if (!pools.has(img.pool)) pools.set(img.pool, await openPool(ctx, img.pool));
        const u = await pools.get(img.pool)!.usage(imageSnapshot(img));
        data.push({ ...img, image: formatImageRef(img), referencedBytes: u.referenced, exclusiveBytes: u.exclusive, sharedBytes: Math.max(0, u.referenced - u.exclusive) });
      }
      printTable(
        ctx,
        ['image', 'parent', 'pool', 'created', 'exclusive', 'shared', 'origin'],
        data.map((d) => [d.image, d.parent ? formatImageRef(d.parent) : '-', d.pool, d.createdAt.replace(/\.\d+Z$/, 'Z'), formatSize(d.exclusiveBytes), formatSize(d.sharedBytes), d.origin]),
        data,
      );
    });
}
