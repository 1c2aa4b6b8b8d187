/**
 * Snapshot create time on btrfs loop pools, through the cellblock driver
 * (driver.createSnapshot: checks, `btrfs subvolume snapshot -r`, `btrfs subvolume show` for
 * the creation time) against the raw `btrfs subvolume snapshot -r`, for a dataset holding
 * 1 MB and one holding 1 GB; and image build time (examples/site: dataset, rsync, snapshot).
 * Each on two pools in the same run: quota groups on (as cellblock makes pools, for jails'
 * disk limits) and off (`btrfs quota disable`), to show what quotas cost. Median of RUNS
 * each, interleaved.
 * Goal: with quotas on, < 50 ms, and independent of the dataset's size (1 GB / 1 MB near 1x).
 */
import { join } from 'node:path';
import { exec } from '../src/sys/exec.js';
import { buildImage } from '../src/storage/images/build.js';
import { removeImageRecord } from '../src/storage/images/store.js';
import type { StorageDriver } from '../src/storage/driver.js';
import { fill, median, MB, round, sync, table, timeMs, verdict, withPools } from './lib.js';

const RUNS = 20;
const BUILDS = 5;
const GOAL_MS = 50;
const EXAMPLES = new URL('../../examples/site', import.meta.url).pathname;

export interface SnapshotRow { quotas: 'on' | 'off'; dataset: string; bytes: number; cellblockMs: number; rawMs: number; ratio: number }
export interface BuildRow { quotas: 'on' | 'off'; buildMs: number }
export interface SnapshotResult { runs: number; rows: SnapshotRow[]; builds: BuildRow[]; sizeRatio: number; goal: string; met: boolean }

async function snapshotRows(driver: StorageDriver, quotas: 'on' | 'off', sizes: [string, number][]): Promise<SnapshotRow[]> {
  const rows: SnapshotRow[] = [];
  for (const [label, bytes] of sizes) {
    const ds = `bench/d${label.toLowerCase()}`;
    await driver.createDataset(ds);
    if (quotas === 'on') await driver.setDiskLimit(ds, 4 * bytes + 64 * MB); // a jail's dataset has a limit: measure with one
    await fill(join(driver.datasetPath(ds), 'data'), bytes);
    await sync(); // a snapshot flushes its dataset's dirty data first: measure the snapshot, not the writeback
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(await timeMs(() => driver.createSnapshot({ dataset: ds, snapshot: `s${i}` })));
      const rawPath = join(driver.pool.mountpoint, `raw-${label}-${i}`);
      raw.push(await timeMs(() => exec(['btrfs', 'subvolume', 'snapshot', '-r', driver.datasetPath(ds), rawPath])));
    }
    rows.push({ quotas, dataset: label, bytes, cellblockMs: round(median(ours), 1), rawMs: round(median(raw), 1), ratio: round(median(ours) / median(raw)) });
  }
  return rows;
}

async function buildMs(driver: StorageDriver, dataDir: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < BUILDS; i++) {
    times.push(await timeMs(() => buildImage({ exec, dataDir, driver, ref: { name: 'site', tag: `b${i}` }, dir: EXAMPLES, from: null })));
  }
  return round(median(times), 1);
}

export async function benchSnapshot(o: { quick?: boolean } = {}): Promise<SnapshotResult> {
  const bigBytes = o.quick ? 256 * MB : 1024 * MB;
  const sizes: [string, number][] = [['1MB', MB], [o.quick ? '256MB' : '1GB', bigBytes]];
  return withPools('snapshot', async (pools) => {
    const on = await pools.pool('on', 3 * 1024 * MB);
    const off = await pools.pool('off', 3 * 1024 * MB);
    await exec(['btrfs', 'quota', 'disable', off.driver.pool.mountpoint]);
    const rows = [...await snapshotRows(on.driver, 'on', sizes), ...await snapshotRows(off.driver, 'off', sizes)];
    const builds: BuildRow[] = [];
    for (let round = 0; round < 2; round++) { // interleaved: on, off, on, off
      builds.push({ quotas: 'on', buildMs: await buildMs(on.driver, on.ctx.dataDir) });
      builds.push({ quotas: 'off', buildMs: await buildMs(off.driver, off.ctx.dataDir) });
      for (const p of [on, off]) for (let i = 0; i < BUILDS; i++) {
        await p.driver.destroyDataset(`images/site/b${i}`);
        await removeImageRecord(p.ctx.dataDir, { name: 'site', tag: `b${i}` });
      }
    }
    const build = (q: 'on' | 'off'): BuildRow => ({ quotas: q, buildMs: round(median(builds.filter((b) => b.quotas === q).map((b) => b.buildMs)), 1) });
    const withQuotas = rows.filter((r) => r.quotas === 'on');
    const sizeRatio = round(withQuotas[1]!.cellblockMs / withQuotas[0]!.cellblockMs);
    const met = withQuotas.every((r) => r.cellblockMs < GOAL_MS) && sizeRatio < 2;
    return { runs: RUNS, rows, builds: [build('on'), build('off')], sizeRatio, goal: `quotas on: < ${GOAL_MS} ms, independent of size (big/small < 2x)`, met };
  });
}

export function printSnapshotBench(r: SnapshotResult): void {
  console.log(`snapshot create, median of ${r.runs}; quota groups on (cellblock's pools) and off, same run`);
  console.log(table(['quotas', 'dataset', 'cellblock ms', 'raw btrfs ms', 'cellblock/raw'], r.rows.map((x) => [x.quotas, x.dataset, x.cellblockMs, x.rawMs, `${x.ratio}x`])));
  console.log(`image build (examples/site), median of ${BUILDS * 2}:`);
  console.log(table(['quotas', 'build ms'], r.builds.map((b) => [b.quotas, b.buildMs])));
  const big = r.rows.filter((x) => x.quotas === 'on');
  console.log(`quotas on, ${big[1]!.dataset}/${big[0]!.dataset}: ${r.sizeRatio}x   goal: ${r.goal}   ${verdict(r.met)}`);
}
