/**
 * Storage benchmarks (issue "foundation and storage"), each printed beside the raw tool
 * measured in the same run:
 *  1. snapshot create time for a 1 MB and a 1 GB dataset, through the btrfs driver and raw
 *     `btrfs subvolume snapshot -r` (goal: < 50 ms, independent of size);
 *  2. `image export | image import` throughput against raw `btrfs send | btrfs receive` of
 *     the same subvolume (goal >= 0.9x), in-process and through two CLI processes;
 *  3. incremental stream size against the bytes actually changed (goal <= 1.1x changed + 1 MB).
 * Root only: everything lives in btrfs loop pools under a temporary dir, removed at the end.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, unlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { exec } from '../src/sys/exec.js';
import { quietCli as cli } from './cli.js';
import { openPool } from '../src/storage/pools.js';
import { buildImage } from '../src/storage/images/build.js';
import { exportImage, importImage } from '../src/storage/images/transfer.js';
import { imageSnapshot, removeImageRecord } from '../src/storage/images/store.js';
import { STREAM_HWM } from '../src/storage/images/stream.js';
import type { StorageDriver } from '../src/storage/driver.js';

const MB = 1024 * 1024;
const BIN = new URL('../../bin/cellblock', import.meta.url).pathname;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Writes `bytes` of incompressible data to `path` (a 1 MB random block, varied per write). */
async function fill(path: string, bytes: number): Promise<void> {
  const block = randomBytes(MB);
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < bytes; off += MB) {
      block.writeUInt32LE(off / MB, 0);
      await fh.write(block, 0, Math.min(MB, bytes - off), off);
    }
  } finally {
    await fh.close();
  }
}

/** Runs `a | b` as two processes; resolves with the seconds it took. */
function pipe2(a: string[], b: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(a[0]!, a.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    const c = spawn(b[0]!, b.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d) => (err += d));
    p.stdout!.pipe(c.stdin!);
    c.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`${b.join(' ')} exited ${code}: ${err}`))));
  });
}

async function pool(dataDir: string, size: string): Promise<StorageDriver> {
  await cli(['--data-dir', dataDir, '--json', 'pool', 'create', '--size', size]).then((c) => { if (c !== 0) throw new Error('pool create failed'); });
  return openPool({ exec, dataDir });
}

export async function benchStorage(o: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const base = await mkdtemp(join(tmpdir(), 'cb-bench-storage-'));
  const dirs = { a: join(base, 'a'), b: join(base, 'b'), src: join(base, 'src') };
  const result: Record<string, unknown> = {};
  const big = o.quick ? 128 * MB : 1024 * MB;
  const imageBytes = o.quick ? 64 * MB : 512 * MB;
  try {
    const a = await pool(dirs.a, o.quick ? '1G' : '4G');
    const b = await pool(dirs.b, o.quick ? '1G' : '4G');

    // 1. snapshots
    const snap: Record<string, unknown> = {};
    for (const [label, bytes] of [['1MB', MB], [o.quick ? '128MB' : '1GB', big]] as const) {
      const ds = `bench/${label.toLowerCase()}`;
      await a.createDataset(ds);
      await fill(join(a.datasetPath(ds), 'data'), bytes);
      await exec(['sync']);
      const ours: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < 15; i++) {
        let t = performance.now();
        await a.createSnapshot({ dataset: ds, snapshot: `s${i}` });
        ours.push(performance.now() - t);
        const rawPath = join(a.pool.mountpoint, `raw-${label}-${i}`);
        t = performance.now();
        await exec(['btrfs', 'subvolume', 'snapshot', '-r', a.datasetPath(ds), rawPath]);
        raw.push(performance.now() - t);
      }
      snap[label] = { cellblockMs: +median(ours).toFixed(1), rawBtrfsMs: +median(raw).toFixed(1), ratio: +(median(ours) / median(raw)).toFixed(2) };
    }
    const s1 = snap['1MB'] as { cellblockMs: number };
    const sBig = snap[o.quick ? '128MB' : '1GB'] as { cellblockMs: number };
    result.snapshot = { ...snap, sizeRatio: +(sBig.cellblockMs / s1.cellblockMs).toFixed(2), goal: '< 50 ms, independent of size', met: sBig.cellblockMs < 50 && s1.cellblockMs < 50 };

    // 2. export | import throughput vs raw btrfs send | receive
    await mkdir(dirs.src, { recursive: true });
    for (let i = 0; i < 8; i++) await fill(join(dirs.src, `f${i}`), imageBytes / 8);
    await buildImage({ exec, dataDir: dirs.a, driver: a, ref: { name: 'big', tag: 'v1' }, dir: dirs.src, from: null });
    await exec(['sync']);
    const snapPath = a.snapshotPath(imageSnapshot({ name: 'big', tag: 'v1' }));
    const ref = { name: 'big', tag: 'v1' };
    const runs = o.quick ? 1 : 3;
    const lib: number[] = [];
    const cliRuns: number[] = [];
    const raw: number[] = [];
    const dropImported = async () => {
      await b.destroySnapshot(imageSnapshot(ref));
      await b.destroyDataset('images/big/v1').catch(() => {});
      await removeImageRecord(dirs.b, ref);
    };
    for (let i = 0; i < runs; i++) {
      const rawDir = join(b.pool.mountpoint, `raw${i}`);
      await mkdir(rawDir);
      raw.push(await pipe2(['btrfs', 'send', '-q', snapPath], ['btrfs', 'receive', '-e', rawDir]));
      for (const n of await readdir(rawDir)) await exec(['btrfs', 'subvolume', 'delete', join(rawDir, n)]);
      const t = performance.now();
      const pt = new PassThrough({ highWaterMark: STREAM_HWM });
      await Promise.all([exportImage({ dataDir: dirs.a, driver: a, ref, out: pt }).then(() => pt.end()), importImage({ dataDir: dirs.b, driver: b, input: pt })]);
      lib.push((performance.now() - t) / 1000);
      await dropImported();
      cliRuns.push(await pipe2([process.execPath, BIN, '--data-dir', dirs.a, 'image', 'export', 'big:v1', '-o', '-'], [process.execPath, BIN, '--data-dir', dirs.b, 'image', 'import', '-']));
      await dropImported();
    }
    const mbps = (s: number) => +(imageBytes / MB / s).toFixed(0);
    result.transfer = {
      bytes: imageBytes,
      rawMBps: mbps(median(raw)),
      cellblockLibraryMBps: mbps(median(lib)),
      cellblockCliMBps: mbps(median(cliRuns)),
      ratioLibrary: +(median(raw) / median(lib)).toFixed(2),
      ratioCli: +(median(raw) / median(cliRuns)).toFixed(2),
      goal: '>= 0.9x raw btrfs send | receive',
      met: median(raw) / median(lib) >= 0.9,
    };

    // 3. incremental stream size vs bytes changed
    const v1 = join(base, 'v1');
    await mkdir(v1);
    const files = o.quick ? 10 : 50;
    for (let i = 0; i < files; i++) await fill(join(v1, `f${i}`), 4 * MB);
    await buildImage({ exec, dataDir: dirs.a, driver: a, ref: { name: 'inc', tag: 'v1' }, dir: v1, from: null });
    await fill(join(v1, 'f0'), 4 * MB); // rewritten: 4 MB
    await fill(join(v1, 'f1'), 4 * MB); // rewritten: 4 MB
    const fh = await open(join(v1, 'f2'), 'r+'); // 2 MB changed in the middle of a file
    await fh.write(randomBytes(2 * MB), 0, 2 * MB, MB);
    await fh.close();
    await fill(join(v1, 'new'), 5 * MB); // added: 5 MB
    await unlink(join(v1, `f${files - 1}`)); // removed
    const changed = 15 * MB;
    await buildImage({ exec, dataDir: dirs.a, driver: a, ref: { name: 'inc', tag: 'v2' }, dir: v1 });
    let streamBytes = 0;
    const counter = new Writable({ write(c: Buffer, _e, cb) { streamBytes += c.length; cb(); } });
    await exportImage({ dataDir: dirs.a, driver: a, ref: { name: 'inc', tag: 'v2' }, since: { name: 'inc', tag: 'v1' }, out: counter });
    result.incremental = {
      changedBytes: changed,
      streamBytes,
      ratio: +(streamBytes / changed).toFixed(3),
      goal: '<= 1.1x changed + 1 MB',
      met: streamBytes <= 1.1 * changed + MB,
      note: 'rsync rewrites a changed file whole (f2: 2 MB changed of 4 MB), so the stream carries 4 MB for it',
    };
  } finally {
    for (const d of [dirs.a, dirs.b]) await cli(['--data-dir', d, 'pool', 'destroy', '--yes']).catch(() => 1);
    await rm(base, { recursive: true, force: true });
  }
  return result;
}

export function printStorageBench(r: Record<string, unknown>): void {
  const s = r.snapshot as Record<string, { cellblockMs: number; rawBtrfsMs: number; ratio: number }> & { sizeRatio: number; goal: string; met: boolean };
  console.log('snapshot create (median of 15)     cellblock   raw btrfs   ratio');
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'object' && v && 'cellblockMs' in v) console.log(`  ${k.padEnd(32)} ${String(v.cellblockMs).padStart(6)} ms ${String(v.rawBtrfsMs).padStart(8)} ms ${String(v.ratio).padStart(6)}x`);
  }
  console.log(`  big/small ${s.sizeRatio}x   goal: ${s.goal}   ${s.met ? 'MET' : 'NOT MET'}`);
  const t = r.transfer as Record<string, number | string | boolean>;
  console.log(`export | import of ${Number(t.bytes) / MB} MB            MB/s`);
  console.log(`  raw btrfs send | btrfs receive   ${String(t.rawMBps).padStart(6)}`);
  console.log(`  cellblock (in-process)           ${String(t.cellblockLibraryMBps).padStart(6)}   ${t.ratioLibrary}x raw`);
  console.log(`  cellblock CLI, two processes     ${String(t.cellblockCliMBps).padStart(6)}   ${t.ratioCli}x raw`);
  console.log(`  goal: ${t.goal}   ${t.met ? 'MET' : 'NOT MET'}`);
  const i = r.incremental as Record<string, number | string | boolean>;
  console.log(`incremental stream: ${(Number(i.streamBytes) / MB).toFixed(2)} MB for ${(Number(i.changedBytes) / MB).toFixed(0)} MB changed (${i.ratio}x)   goal: ${i.goal}   ${i.met ? 'MET' : 'NOT MET'}`);
}
