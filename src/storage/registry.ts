/** Driver name -> factory (STYLE.md §7). */
import { UserError } from '../sys/errors.js';
import type { DriverFactory, DriverName } from './driver.js';
import { DRIVER_NAMES } from './driver.js';
import { btrfsDriver } from './btrfs/index.js';
import { dirDriver } from './dir/index.js';
import { zfsDriver } from './zfs/index.js';

const FACTORIES: Record<DriverName, DriverFactory> = { btrfs: btrfsDriver, dir: dirDriver, zfs: zfsDriver };

export function driverFactory(name: string): DriverFactory {
  if (!(DRIVER_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown storage driver ${JSON.stringify(name)}`, `use one of: ${DRIVER_NAMES.join(', ')}`);
  }
  return FACTORIES[name as DriverName];
}
