/**
 * `host check` rows about this host's pools: whether each can enforce a jail's disk limit
 * (DriverInfo.diskLimit). A pool that cannot is a warning, never a failure: jails on it run,
 * without a limit on what they write.
 */
import type { CheckResult } from '../sys/host-checks.js';
import type { PoolRecord } from './driver.js';
import { driverFactory } from './registry.js';

export function diskLimitChecks(pools: readonly Pick<PoolRecord, 'name' | 'driver'>[]): CheckResult[] {
  return pools.map((p): CheckResult => {
    const info = driverFactory(p.driver).info;
    const base = { name: `pool ${p.name}`, kind: 'pool' as const, required: false, neededFor: 'optional' as const };
    if (info.diskLimit !== null) return { ...base, status: 'present', detail: `${p.driver}: disk limits enforced (${info.diskLimitNote})`, fix: '' };
    return { ...base, status: 'warning', detail: info.diskLimitNote, fix: 'make a btrfs or zfs pool for jails that need a disk limit: cellblock pool create NAME --size 20G' };
  });
}
