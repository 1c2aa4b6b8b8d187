import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printTable } from '../../output.js';
import { listPoolRecords } from '../../../storage/pools.js';
import { driverFactory } from '../../../storage/registry.js';
import { formatSize } from '../../../sys/size.js';
import { statfs } from 'node:fs/promises';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('ls')
    .description('list pools with their driver, where they live and how full they are')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const pools = await listPoolRecords(ctx.dataDir);
      const data = [];
      for (const p of pools) {
        let size: number | null = null;
        let free: number | null = null;
        try {
          const s = await statfs(p.mountpoint);
          size = s.blocks * s.bsize;
          free = s.bavail * s.bsize;
        } catch { /* not mounted: shown as "-" */ }
        data.push({ ...p, size, free, note: driverFactory(p.driver).info.note });
      }
      printTable(
        ctx,
        ['name', 'driver', 'source', 'mountpoint', 'size', 'free', 'note'],
        data.map((p) => [
          p.name,
          p.driver,
          p.source.kind === 'loop' ? `loop ${p.source.file}` : p.source.kind === 'path' ? p.source.path : p.source.dataset,
          p.mountpoint,
          p.size === null ? '-' : formatSize(p.size),
          p.free === null ? '-' : formatSize(p.free),
          p.note,
        ]),
        data,
      );
    });
}
