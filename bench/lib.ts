/**
 * What the storage benchmarks share: incompressible, non-sparse data; btrfs loop pools under
 * a temporary dir that are removed in `finally` whatever happened; two processes joined by a
 * real pipe, timed; medians; and one table printer (figure, raw tool, ratio, goal).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exec } from '../src/sys/exec.js';
import { createPool, destroyPool, openPool } from '../src/storage/pools.js';
import type { PoolContext, StorageDriver } from '../src/storage/driver.js';
import { cleanupDataDir } from '../test/helpers/loop-pools.js';
import { pipeProcesses } from '../test/helpers/pipe.js';

export const MB = 1024 * 1024;
export const BIN = new URL('../../bin/cellblock', import.meta.url).pathname;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/**
 * Writes `bytes` of incompressible data to `path`: a random 1 MiB block whose first bytes
 * change per block, written out in full (no holes: every block is allocated).
 */
export async function fill(path: string, bytes: number, at = 0): Promise<void> {
  const block = randomBytes(MB);
  const fh = await open(path, at === 0 ? 'w' : 'r+');
  try {
    for (let off = 0; off < bytes; off += MB) {
      randomBytes(16).copy(block, 0);
      await fh.write(block, 0, Math.min(MB, bytes - off), at + off);
    }
  } finally {
    await fh.close();
  }
}

export interface BenchPools {
  /** The temporary dir everything lives under. */
  base: string;
  /** A btrfs loop pool named "bench" in its own data dir (BASE/NAME). */
  pool(name: string, size: number): Promise<{ ctx: PoolContext; driver: StorageDriver }>;
}

/**
 * Runs `fn` with a temporary dir for pools; afterwards destroys every pool made and, whatever
 * happened, unmounts and detaches anything left under the dir and removes it.
 */
export async function withPools<T>(label: string, fn: (p: BenchPools) => Promise<T>): Promise<T> {
  const base = await mkdtemp(join(tmpdir(), `cb-bench-${label}-`));
  const made: PoolContext[] = [];
  try {
    return await fn({
      base,
      async pool(name, size) {
        const ctx: PoolContext = { exec, dataDir: join(base, name) };
        await mkdir(ctx.dataDir);
        await createPool(ctx, { name: 'bench', size });
        made.push(ctx);
        return { ctx, driver: await openPool(ctx, 'bench') };
      },
    });
  } finally {
    for (const ctx of made) await destroyPool(ctx, 'bench').catch(() => {});
    await cleanupDataDir(base);
  }
}

/** Seconds `producer | consumer` takes, through a real pipe; throws if either fails. */
export async function timePipe(producer: readonly string[], consumer: readonly string[]): Promise<number> {
  const t = performance.now();
  const r = await pipeProcesses(producer, consumer);
  const s = (performance.now() - t) / 1000;
  for (const [argv, f] of [[producer, r.producer], [consumer, r.consumer]] as const) {
    if (f.code !== 0) throw new Error(`${argv.join(' ')} failed (${f.code ?? f.signal}): ${f.stderr.trim()}`);
  }
  return s;
}

/** Milliseconds `fn` takes. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Flushes dirty pages so one measurement's writeback does not land in the next. */
export async function sync(): Promise<void> {
  await exec(['sync']);
}

/** Prints rows as an aligned table, numbers right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.every((r) => typeof r[i] === 'number' || /^[\d.]+x?$|^-$/.test(String(r[i]))));
  return cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

export const verdict = (met: boolean) => (met ? 'MET' : 'NOT MET');
