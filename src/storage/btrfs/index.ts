/**
 * The btrfs storage driver (the default): pools on a sparse loop file or an existing btrfs
 * mount; datasets are subvolumes, snapshots read-only subvolumes, send/receive native.
 *
 * Split like Incus's drivers: argv.ts (tool command lines), parse.ts (tool output),
 * classify.ts (how a tool failed), layout.ts (paths in a pool), stream.ts (send stream
 * header), pool.ts (create/open/destroy), driver.ts (datasets, snapshots, space,
 * migration), receive.ts (all-or-nothing receive).
 */
import { defineDriver } from '../base.js';
import { BTRFS_INFO, BtrfsDriver } from './driver.js';
import { createPool, destroyPool, ensurePool } from './pool.js';

export const BTRFS_TOOLS = [
  { tool: 'btrfs', pkg: 'btrfs-progs' },
  { tool: 'mkfs.btrfs', pkg: 'btrfs-progs' },
  { tool: 'losetup', pkg: 'mount' },
  { tool: 'mount', pkg: 'mount' },
  { tool: 'umount', pkg: 'mount' },
] as const;

export const btrfsDriver = defineDriver({
  info: BTRFS_INFO,
  tools: BTRFS_TOOLS,
  createPool,
  open: async (ctx, record) => new BtrfsDriver(ctx, await ensurePool(ctx, record)),
  destroyPool,
});
