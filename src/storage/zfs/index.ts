/**
 * The zfs storage driver: datasets are zfs filesystems below one root dataset per pool,
 * snapshots zfs snapshots, send/receive native and incremental. Needs the ZFS kernel module
 * (Debian: zfs-dkms from contrib) besides the tools.
 *
 * Split like the other drivers: argv.ts (tool command lines), parse.ts (`zfs list` output),
 * classify.ts (how a tool failed), layout.ts (names and paths), pool.ts (create/open/destroy),
 * driver.ts (datasets, snapshots, space, send), receive.ts (all-or-nothing receive).
 */
import type { DriverFactory } from '../driver.js';
import { checkTools } from '../tools.js';
import { ZFS_INFO } from './driver.js';
import { createZfsPool, destroyZfsPool, openZfsPool } from './pool.js';

export const ZFS_TOOLS = [
  { tool: 'zfs', pkg: 'zfsutils-linux' },
  { tool: 'zpool', pkg: 'zfsutils-linux' },
] as const;

export const zfsDriver: DriverFactory = {
  name: 'zfs',
  info: ZFS_INFO,
  tools: ZFS_TOOLS,
  async createPool(ctx, req) {
    await checkTools('zfs', ZFS_TOOLS);
    return createZfsPool(ctx, req);
  },
  async open(ctx, record) {
    await checkTools('zfs', ZFS_TOOLS);
    return openZfsPool(ctx, record);
  },
  async destroyPool(ctx, record) {
    await checkTools('zfs', ZFS_TOOLS);
    return destroyZfsPool(ctx, record);
  },
};
