import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printTable } from '../../output.js';
import { listPoolRecords } from '../../../storage/pools.js';
import { driverFactory } from '../../../storage/registry.js';
import { formatSize } from '../../../sys/size.js';
import { statfs } from 'node:fs/promises';
import { listRecords, type JailRecord } from '../../../jail/record.js';

/** The sum of the jails' disk limits, by pool (a jail without a limit counts nothing). */
export function allocatedByPool(jails: readonly Pick<JailRecord, 'pool' | 'spec'>[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const j of jails) m.set(j.pool, (m.get(j.pool) ?? 0) + (j.spec.diskBytes ?? 0));
  return m;
}

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('ls')
    .description('list pools with their driver, where they live and how full they are: size, the disk limits of the jails in them (allocated), used and free')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const pools = await listPoolRecords(ctx.dataDir);
      const allocated = allocatedByPool(await listRecords(ctx.dataDir));
      const data = [];
      for (const p of pools) {
        let size: number | null = null;
        let free: number | null = null;
        try {
          const s = await statfs(p.mountpoint);
          size = s.blocks * s.bsize;
          free = s.bavail * s.bsize;
        } catch { /* not mounted: shown as "-" */ }
        const info = driverFactory(p.driver).info;
        data.push({ ...p, size, free, used: size === null || free === null ? null : size - free, allocated: allocated.get(p.name) ?? 0, diskLimits: info.diskLimit !== null, note: info.note });
      }
      printTable(
        ctx,
        ['name', 'driver', 'source', 'mountpoint', 'size', 'allocated', 'used', 'free', 'note'],
        data.map((p) => [
          p.name,
          p.driver,
          p.source.kind === 'loop' ? `loop ${p.source.file}` : p.source.kind === 'path' ? p.source.path : p.source.dataset,
          p.mountpoint,
          p.size === null ? '-' : formatSize(p.size),
          formatSize(p.allocated) + (p.diskLimits ? '' : ' (not enforced)'),
          p.used === null ? '-' : formatSize(p.used),
          p.free === null ? '-' : formatSize(p.free),
          p.note,
        ]),
        data,
      );
    });
}
