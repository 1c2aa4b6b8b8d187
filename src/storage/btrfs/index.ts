/**
 * The btrfs storage driver (the default): pools on a sparse loop file or an existing btrfs
 * mount; datasets are subvolumes, snapshots read-only subvolumes, send/receive native.
 *
 * Split like Incus's drivers: argv.ts (tool command lines), parse.ts (tool output),
 * classify.ts (how a tool failed), layout.ts (paths in a pool), stream.ts (send stream
 * header), pool.ts (create/open/destroy), driver.ts (datasets, snapshots, space,
 * migration), receive.ts (all-or-nothing receive).
 */
import { UserError } from '../../sys/errors.js';
import { hasTool } from '../../sys/exec.js';
import type { DriverFactory } from '../driver.js';
import { BTRFS_INFO, BtrfsDriver } from './driver.js';
import { createPool, destroyPool, ensurePool } from './pool.js';

export const BTRFS_TOOLS = [
  { tool: 'btrfs', pkg: 'btrfs-progs' },
  { tool: 'mkfs.btrfs', pkg: 'btrfs-progs' },
  { tool: 'losetup', pkg: 'mount' },
  { tool: 'mount', pkg: 'mount' },
  { tool: 'umount', pkg: 'mount' },
] as const;

/** Throws a UserError naming the first missing tool and the Debian package that provides it. */
export async function checkTools(has: (tool: string) => Promise<boolean>): Promise<void> {
  for (const t of BTRFS_TOOLS) {
    if (!(await has(t.tool))) {
      throw new UserError(`${t.tool} is not installed; the btrfs storage driver needs it`, `install it with: apt-get install ${t.pkg} (or run: cellblock host bootstrap)`);
    }
  }
}

let toolsChecked: Promise<void> | undefined;

/** checkTools on this host, once per process (a failed check is repeated next time). */
function checkBtrfsTools(): Promise<void> {
  toolsChecked ??= checkTools(hasTool).catch((e: unknown) => {
    toolsChecked = undefined;
    throw e;
  });
  return toolsChecked;
}

export const btrfsDriver: DriverFactory = {
  name: 'btrfs',
  info: BTRFS_INFO,
  tools: BTRFS_TOOLS,
  async createPool(ctx, req) {
    await checkBtrfsTools();
    return createPool(ctx, req);
  },
  async open(ctx, record) {
    await checkBtrfsTools();
    return new BtrfsDriver(ctx, await ensurePool(ctx, record));
  },
  async destroyPool(ctx, record) {
    await checkBtrfsTools();
    return destroyPool(ctx, record);
  },
};
