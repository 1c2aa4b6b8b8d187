/**
 * The dir storage driver: plain directories for hosts with neither btrfs nor ZFS. Every
 * snapshot and clone is a full copy (`cp -a --reflink=auto`: cheap where the filesystem
 * shares extents), send/receive a full tar stream. See ./README.md.
 *
 * Split like the other drivers: argv.ts (tool command lines), layout.ts (paths in a pool),
 * tree.ts (usage, immutability, removal), receive.ts (all-or-nothing tar receive), pool.ts
 * (create/open/destroy), driver.ts (datasets, snapshots, space, migration).
 */
import type { DriverFactory } from '../driver.js';
import { checkTools } from '../tools.js';
import { DIR_INFO } from './driver.js';
import { createDirPool, destroyDirPool, openDirPool } from './pool.js';

export const DIR_TOOLS = [
  { tool: 'cp', pkg: 'coreutils' },
  { tool: 'tar', pkg: 'tar' },
  { tool: 'chattr', pkg: 'e2fsprogs' },
] as const;

export const dirDriver: DriverFactory = {
  name: 'dir',
  info: DIR_INFO,
  tools: DIR_TOOLS,
  async createPool(ctx, req) {
    await checkTools('dir', DIR_TOOLS);
    return createDirPool(ctx, req);
  },
  async open(ctx, record) {
    await checkTools('dir', DIR_TOOLS);
    return openDirPool(ctx, record);
  },
  async destroyPool(ctx, record) {
    await checkTools('dir', DIR_TOOLS);
    return destroyDirPool(ctx, record);
  },
};
