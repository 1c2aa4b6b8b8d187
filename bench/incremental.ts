/**
 * Incremental image stream size against the bytes actually changed, on a btrfs loop pool.
 * v1: 200 MB of files (48 x 4 MB, 8 x 1 MB). v2: 10 MB rewritten (two 4 MB and two 1 MB
 * files), a 5 MB file added, a 4 MB file deleted: 15 MB changed. `image export v2 --since v1`
 * is measured beside the raw `btrfs send -p` of the same two snapshots and the full stream.
 * A second case edits 1 MB inside a 4 MB file (v3 from v2): the build writes only the changed
 * blocks in place (rsync --inplace --no-whole-file), so the stream carries about 1 MB.
 * Goal, each case: stream <= 1.1x changed + 1 MB.
 */
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exec, spawnStream } from '../src/sys/exec.js';
import { buildImage } from '../src/storage/images/build.js';
import { exportImage } from '../src/storage/images/transfer.js';
import { imageSnapshot } from '../src/storage/images/store.js';
import type { StorageDriver } from '../src/storage/driver.js';
import type { ImageRef } from '../src/sys/names.js';
import { fill, MB, round, table, verdict, withPools } from './lib.js';

const goalBytes = (changed: number) => 1.1 * changed + MB;

export interface IncrementalRow { change: string; changedBytes: number; streamBytes: number; rawSendBytes: number; fullStreamBytes: number; ratio: number; rawRatio: number; goalBytes: number; met: boolean }
export interface IncrementalResult { rows: IncrementalRow[]; goal: string; met: boolean; note: string }

/** Bytes of `exportImage(ref --since)`, whole stream (header, payload, trailer). */
async function streamSize(dataDir: string, driver: StorageDriver, ref: ImageRef, since?: ImageRef): Promise<number> {
  let n = 0;
  const out = new Writable({ write(c: Buffer, _e, cb) { n += c.length; cb(); } });
  await exportImage({ dataDir, driver, ref, since, out });
  return n;
}

/** Bytes of the raw `btrfs send [-p parent] snap`. */
async function rawSendSize(driver: StorageDriver, ref: ImageRef, parent: ImageRef): Promise<number> {
  const p = spawnStream(['btrfs', 'send', '-q', '-p', driver.snapshotPath(imageSnapshot(parent)), driver.snapshotPath(imageSnapshot(ref))]);
  let n = 0;
  p.stdout.on('data', (c: Buffer) => { n += c.length; });
  await p.done;
  return n;
}

export async function benchIncremental(): Promise<IncrementalResult> {
  return withPools('incremental', async (pools) => {
    const { ctx, driver } = await pools.pool('a', 1024 * MB);
    const dir = join(pools.base, 'app');
    await mkdir(dir);
    for (let i = 0; i < 48; i++) await fill(join(dir, `f${i}`), 4 * MB);
    for (let i = 0; i < 8; i++) await fill(join(dir, `g${i}`), MB);
    const v = (tag: string): ImageRef => ({ name: 'inc', tag });
    const build = (tag: string) => buildImage({ exec, dataDir: ctx.dataDir, driver, ref: v(tag), dir });
    await build('v1');

    const rows: IncrementalRow[] = [];
    const measure = async (change: string, changed: number, tag: string, since: string) => {
      const streamBytes = await streamSize(ctx.dataDir, driver, v(tag), v(since));
      const rawSendBytes = await rawSendSize(driver, v(tag), v(since));
      const fullStreamBytes = await streamSize(ctx.dataDir, driver, v(tag));
      rows.push({ change, changedBytes: changed, streamBytes, rawSendBytes, fullStreamBytes, ratio: round(streamBytes / changed), rawRatio: round(streamBytes / rawSendBytes, 3), goalBytes: Math.round(goalBytes(changed)), met: streamBytes <= goalBytes(changed) });
    };

    for (const f of ['f0', 'f1']) await fill(join(dir, f), 4 * MB);
    for (const f of ['g0', 'g1']) await fill(join(dir, f), MB);
    await fill(join(dir, 'new'), 5 * MB);
    await unlink(join(dir, 'f47'));
    await build('v2');
    await measure('10 MB rewritten in 4 files, 5 MB added, 4 MB file deleted', 15 * MB, 'v2', 'v1');

    await fill(join(dir, 'f2'), MB, MB); // 1 MB overwritten inside a 4 MB file
    await build('v3');
    await measure('1 MB edited inside a 4 MB file', MB, 'v3', 'v2');

    return {
      rows,
      goal: 'stream <= 1.1x changed + 1 MB',
      met: rows.every((x) => x.met),
      note: 'the goal is judged on each case; a build writes only the changed blocks of a changed file, so an edit inside a file travels as the edit',
    };
  });
}

export function printIncrementalBench(r: IncrementalResult): void {
  const mb = (b: number) => (b / MB).toFixed(2);
  console.log('incremental image stream (image export TAG --since PARENT) against the bytes changed and the goal');
  console.log(table(
    ['change', 'changed MB', 'stream MB', 'raw send -p MB', 'x raw', 'full MB', 'stream/changed', 'goal MB', ''],
    r.rows.map((x) => [x.change, mb(x.changedBytes), mb(x.streamBytes), mb(x.rawSendBytes), `${x.rawRatio.toFixed(3)}x`, mb(x.fullStreamBytes), `${x.ratio}x`, mb(x.goalBytes), verdict(x.met)]),
  ));
  console.log(`goal: ${r.goal}   ${verdict(r.met)}\nnote: ${r.note}`);
}
