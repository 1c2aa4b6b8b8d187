/**
 * The zfs storage driver: datasets are zfs filesystems below one root dataset per pool,
 * snapshots zfs snapshots, send/receive native and incremental. Needs the ZFS kernel module
 * (Debian: zfs-dkms from contrib) besides the tools.
 *
 * Split like the other drivers: argv.ts (tool command lines), parse.ts (`zfs list` output),
 * classify.ts (how a tool failed), layout.ts (names and paths), pool.ts (create/open/destroy),
 * driver.ts (datasets, snapshots, space, send), receive.ts (all-or-nothing receive).
 */
import { defineDriver } from '../base.js';
import { ZFS_INFO } from './driver.js';
import { createZfsPool, destroyZfsPool, openZfsPool } from './pool.js';

export const ZFS_TOOLS = [
  { tool: 'zfs', pkg: 'zfsutils-linux' },
  { tool: 'zpool', pkg: 'zfsutils-linux' },
] as const;

export const zfsDriver = defineDriver({ info: ZFS_INFO, tools: ZFS_TOOLS, createPool: createZfsPool, open: openZfsPool, destroyPool: destroyZfsPool });
