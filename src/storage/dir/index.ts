/**
 * The dir storage driver: plain directories for hosts with neither btrfs nor ZFS. Every
 * snapshot and clone is a full copy (`cp -a --reflink=auto`: cheap where the filesystem
 * shares extents), send/receive a full tar stream. See ./README.md.
 *
 * Split like the other drivers: argv.ts (tool command lines), layout.ts (paths in a pool),
 * tree.ts (usage, immutability, removal), receive.ts (all-or-nothing tar receive), pool.ts
 * (create/open/destroy), driver.ts (datasets, snapshots, space, migration).
 */
import { defineDriver } from '../base.js';
import { DIR_INFO } from './driver.js';
import { createDirPool, destroyDirPool, openDirPool } from './pool.js';

export const DIR_TOOLS = [
  { tool: 'cp', pkg: 'coreutils' },
  { tool: 'tar', pkg: 'tar' },
  { tool: 'chattr', pkg: 'e2fsprogs' },
] as const;

export const dirDriver = defineDriver({ info: DIR_INFO, tools: DIR_TOOLS, createPool: createDirPool, open: openDirPool, destroyPool: destroyDirPool });
