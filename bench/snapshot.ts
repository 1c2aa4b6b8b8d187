/**
 * Snapshot create time on a btrfs loop pool, through the cellblock driver
 * (driver.createSnapshot: checks, `btrfs subvolume snapshot -r`, `btrfs subvolume show` for
 * the creation time) against the raw `btrfs subvolume snapshot -r`, for a dataset holding
 * 1 MB and one holding 1 GB. Median of RUNS each, interleaved.
 * Goal: < 50 ms, and independent of the dataset's size (1 GB / 1 MB near 1x).
 */
import { join } from 'node:path';
import { exec } from '../src/sys/exec.js';
import { fill, median, MB, round, sync, table, timeMs, verdict, withPools } from './lib.js';

const RUNS = 20;
const GOAL_MS = 50;

export interface SnapshotRow { dataset: string; bytes: number; cellblockMs: number; rawMs: number; ratio: number }
export interface SnapshotResult { runs: number; rows: SnapshotRow[]; sizeRatio: number; goal: string; met: boolean }

export async function benchSnapshot(o: { quick?: boolean } = {}): Promise<SnapshotResult> {
  const bigBytes = o.quick ? 256 * MB : 1024 * MB;
  const sizes: [string, number][] = [['1MB', MB], [o.quick ? '256MB' : '1GB', bigBytes]];
  return withPools('snapshot', async (pools) => {
    const { driver } = await pools.pool('a', 3 * 1024 * MB);
    const rows: SnapshotRow[] = [];
    for (const [label, bytes] of sizes) {
      const ds = `bench/d${label.toLowerCase()}`;
      await driver.createDataset(ds);
      await fill(join(driver.datasetPath(ds), 'data'), bytes);
      await sync(); // a snapshot flushes its dataset's dirty data first: measure the snapshot, not the writeback
      const ours: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        ours.push(await timeMs(() => driver.createSnapshot({ dataset: ds, snapshot: `s${i}` })));
        const rawPath = join(driver.pool.mountpoint, `raw-${label}-${i}`);
        raw.push(await timeMs(() => exec(['btrfs', 'subvolume', 'snapshot', '-r', driver.datasetPath(ds), rawPath])));
      }
      rows.push({ dataset: label, bytes, cellblockMs: round(median(ours), 1), rawMs: round(median(raw), 1), ratio: round(median(ours) / median(raw)) });
    }
    const sizeRatio = round(rows[1]!.cellblockMs / rows[0]!.cellblockMs);
    const met = rows.every((r) => r.cellblockMs < GOAL_MS) && sizeRatio < 2;
    return { runs: RUNS, rows, sizeRatio, goal: `< ${GOAL_MS} ms, independent of size (big/small < 2x)`, met };
  });
}

export function printSnapshotBench(r: SnapshotResult): void {
  console.log(`snapshot create, median of ${r.runs}`);
  console.log(table(['dataset', 'cellblock ms', 'raw btrfs ms', 'cellblock/raw'], r.rows.map((x) => [x.dataset, x.cellblockMs, x.rawMs, `${x.ratio}x`])));
  console.log(`${r.rows[1]!.dataset}/${r.rows[0]!.dataset}: ${r.sizeRatio}x   goal: ${r.goal}   ${verdict(r.met)}`);
}
