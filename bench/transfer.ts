/**
 * Image transfer throughput between two btrfs loop pools, for an image of 512 MB of
 * incompressible data, against the raw tools on the same snapshot in the same run:
 *  - raw:        `btrfs send -q SNAP | btrfs receive -e DIR`, two processes, a real pipe;
 *  - library:    exportImage into a PassThrough read by importImage, in this process
 *                (header, sha256 on both sides, trailer check, the send-stream rename);
 *  - CLI:        `cellblock image export -o - | cellblock image import -`, two processes.
 * Median of RUNS, interleaved; writeback and the btrfs cleaner are settled between runs.
 * Goal: cellblock >= 0.9x the raw throughput.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { exec } from '../src/sys/exec.js';
import { buildImage } from '../src/storage/images/build.js';
import { exportImage, importImage } from '../src/storage/images/transfer.js';
import { imageSnapshot, removeImageRecord } from '../src/storage/images/store.js';
import { STREAM_HWM } from '../src/storage/images/stream.js';
import type { StorageDriver } from '../src/storage/driver.js';
import { BIN, fill, median, MB, round, sync, table, timePipe, verdict, withPools } from './lib.js';

const RUNS = 5;
const GOAL = 0.9;
const REF = { name: 'big', tag: 'v1' };

export interface TransferRow { path: string; seconds: number; mbps: number; ratio: number }
export interface TransferResult { bytes: number; runs: number; rows: TransferRow[]; goal: string; met: boolean }

/** Waits until deleted subvolumes are really gone, so their cleanup does not slow the next run. */
async function settle(driver: StorageDriver): Promise<void> {
  await sync();
  for (const what of ['filesystem', 'subvolume']) await exec(['btrfs', what, 'sync', driver.pool.mountpoint], { timeoutMs: 0 });
}

export async function benchTransfer(o: { quick?: boolean } = {}): Promise<TransferResult> {
  const bytes = o.quick ? 128 * MB : 512 * MB;
  return withPools('transfer', async (pools) => {
    const a = await pools.pool('a', 2048 * MB);
    const b = await pools.pool('b', 2048 * MB);
    const src = join(pools.base, 'src');
    await mkdir(src);
    for (let i = 0; i < 8; i++) await fill(join(src, `f${i}`), bytes / 8);
    await buildImage({ exec, dataDir: a.ctx.dataDir, driver: a.driver, ref: REF, dir: src, from: null });
    const snap = a.driver.snapshotPath(imageSnapshot(REF));
    await settle(a.driver);

    const dropImported = async () => {
      await b.driver.destroySnapshot(imageSnapshot(REF));
      await removeImageRecord(b.ctx.dataDir, REF);
      await settle(b.driver);
    };
    const times: Record<'raw' | 'library' | 'cli', number[]> = { raw: [], library: [], cli: [] };
    for (let i = 0; i < RUNS; i++) {
      const rawDir = join(b.driver.pool.mountpoint, `raw${i}`);
      await mkdir(rawDir);
      times.raw.push(await timePipe(['btrfs', 'send', '-q', snap], ['btrfs', 'receive', '-e', rawDir]));
      for (const n of await readdir(rawDir)) await exec(['btrfs', 'subvolume', 'delete', join(rawDir, n)]);
      await settle(b.driver);

      const t = performance.now();
      const pt = new PassThrough({ highWaterMark: STREAM_HWM });
      await Promise.all([
        exportImage({ dataDir: a.ctx.dataDir, driver: a.driver, ref: REF, out: pt }).then(() => pt.end()),
        importImage({ dataDir: b.ctx.dataDir, driver: b.driver, input: pt }),
      ]);
      times.library.push((performance.now() - t) / 1000);
      await dropImported();

      times.cli.push(await timePipe(
        [process.execPath, BIN, '--data-dir', a.ctx.dataDir, 'image', 'export', 'big:v1', '-o', '-'],
        [process.execPath, BIN, '--data-dir', b.ctx.dataDir, 'image', 'import', '-', '--pool', 'bench'],
      ));
      await dropImported();
    }
    const raw = median(times.raw);
    const row = (path: string, s: number): TransferRow => ({ path, seconds: round(s), mbps: round(bytes / MB / s, 0), ratio: round(raw / s) });
    const rows = [
      row('raw: btrfs send | btrfs receive', raw),
      row('cellblock library (in-process)', median(times.library)),
      row('cellblock CLI: export -o - | import -', median(times.cli)),
    ];
    return { bytes, runs: RUNS, rows, goal: `>= ${GOAL}x raw`, met: rows.every((r) => r.ratio >= GOAL) };
  });
}

export function printTransferBench(r: TransferResult): void {
  console.log(`image export | import of ${r.bytes / MB} MB of incompressible data, median of ${r.runs}`);
  console.log(table(['path', 'seconds', 'MB/s', 'x raw'], r.rows.map((x) => [x.path, x.seconds, x.mbps, `${x.ratio}x`])));
  console.log(`goal: ${r.goal}   ${verdict(r.met)}`);
}
