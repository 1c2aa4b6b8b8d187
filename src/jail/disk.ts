/**
 * A jail's disk limit (docs/jails.md "Disk limits"): the limit of its writable dataset, set
 * through the pool's driver where the driver can enforce one (btrfs quota groups, zfs
 * refquota), and what counts against it.
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { StorageDriver } from '../storage/driver.js';
import { formatSize } from '../sys/size.js';
import type { JailRecord } from './record.js';
import type { JailDisk } from './service.js';

export interface PoolSpace {
  size: number;
  /** Bytes an unprivileged writer can still use. */
  free: number;
}

/** Size and free bytes of the file system holding the pool (statfs); undefined when it cannot be read. */
export async function poolSpace(mountpoint: string): Promise<PoolSpace | undefined> {
  try {
    const s = await statfs(mountpoint);
    return { size: s.blocks * s.bsize, free: s.bavail * s.bsize };
  } catch {
    return undefined; // not mounted: the driver's own errors say so when the dataset is made
  }
}

/** Bytes of the file system holding the pool; undefined when it cannot be read. */
export async function poolSize(mountpoint: string): Promise<number | undefined> {
  return (await poolSpace(mountpoint))?.size;
}

/** Sets the dataset's disk limit where the driver can; on a driver that cannot, logs that it is not enforced. */
export async function limitDisk(driver: StorageDriver, dataset: string, bytes: number | undefined, jail: string, log?: Logger): Promise<void> {
  if (bytes === undefined) return;
  if (driver.info.diskLimit === null) {
    log?.warn({ jail, pool: driver.pool.name }, `jail ${jail}: disk limit ${formatSize(bytes)} not enforced: ${driver.info.diskLimitNote}`);
    return;
  }
  await driver.setDiskLimit(dataset, bytes);
}

/** The jail's disk limit and what counts against it (used: null where the driver keeps no account). */
export async function diskOf(driver: StorageDriver, rec: JailRecord, warn: (err: unknown) => void): Promise<JailDisk> {
  const limitBytes = rec.spec.diskBytes ?? null;
  if (driver.info.diskLimit === null) return { limitBytes, usedBytes: null, enforced: false };
  const u = await driver.diskUse(rec.dataset).catch((err: unknown) => { warn(err); return undefined; });
  return { limitBytes, usedBytes: u?.used ?? null, enforced: u ? u.limitBytes !== null : limitBytes !== null };
}
