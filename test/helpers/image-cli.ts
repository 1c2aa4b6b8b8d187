/**
 * Helpers for tests that run the real `cellblock image` commands: a runner bound to a data
 * dir, two processes joined by a pipe, a process whose stdin is cut half-way, a content
 * digest of a tree, and the state a refused command must leave unchanged.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { exec, type ExecResult } from '../../src/sys/exec.js';
import { stateOf } from './loop-pools.js';
import { finished, pipeProcesses, type Finished } from './pipe.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ANY = Array.from({ length: 256 }, (_, i) => i);

export type Cli = (...args: string[]) => Promise<ExecResult>;

export function cliArgv(dataDir: string, args: readonly string[]): string[] {
  return [process.execPath, `${ROOT}bin/cellblock`, '--data-dir', dataDir, ...args];
}

/** `cellblock --data-dir DIR ...`, any exit code. */
export function cliFor(dataDir: string): Cli {
  return (...args) => exec(cliArgv(dataDir, args), { cwd: ROOT, timeoutMs: 120_000, okCodes: ANY });
}

/** `producer | consumer` through a real pipe, run from the repository root. */
export function piped(producer: readonly string[], consumer: readonly string[]): Promise<{ producer: Finished; consumer: Finished }> {
  return pipeProcesses(producer, consumer, { cwd: ROOT });
}

/** Runs argv with `data` written to its stdin, waits `pauseMs`, then closes stdin (an interrupted sender). */
export async function withCutInput(argv: readonly string[], data: Buffer, pauseMs: number): Promise<Finished> {
  const c = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const done = finished(c);
  c.stdin!.on('error', () => { /* it may give up before reading everything */ });
  c.stdin!.write(data);
  await sleep(pauseMs);
  c.stdin!.end();
  return done;
}

/**
 * One line per entry below `dir`: path, type, permission bits, and the sha256 of a file's
 * bytes or a symlink's target. Two trees with equal digests hold the same files.
 */
export async function treeDigest(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const n of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const p = join(dir, r);
      const st = await lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.push(`${r} link ${await readlink(p)}`);
      else if (st.isDirectory()) { out.push(`${r} dir ${mode}`); await walk(r); }
      else if (st.isFile()) out.push(`${r} file ${mode} ${createHash('sha256').update(await readFile(p)).digest('hex')}`);
      else out.push(`${r} other ${mode}`);
    }
  };
  await walk('');
  return out;
}

/** `btrfs subvolume list -a MOUNT` as "ID path" lines (generations change on their own). */
export async function subvolumeList(mount: string): Promise<string[]> {
  const { stdout } = await exec(['btrfs', 'subvolume', 'list', '-a', mount]);
  return stdout.split('\n').filter(Boolean).map((l) => l.replace(/^ID (\d+) gen \d+ top level \d+ path /, '$1 '));
}

/** What a refused command must leave as it was: files, mounts, loops, `image ls --json`, subvolumes. */
export async function imageState(dataDir: string, btrfsMounts: readonly string[]): Promise<unknown> {
  const ls = await cliFor(dataDir)('--json', 'image', 'ls');
  if (ls.code !== 0) throw new Error(`image ls failed: ${ls.stderr}`);
  const subvolumes: Record<string, string[]> = {};
  for (const m of btrfsMounts) subvolumes[m] = await subvolumeList(m);
  return { ...(await stateOf(dataDir)), images: JSON.parse(ls.stdout) as unknown, subvolumes };
}

/** imageState, or 'absent' while the data dir does not exist (image ls would not create it, but say so). */
export async function imageStateOrAbsent(dataDir: string): Promise<unknown> {
  if (!(await stat(dataDir).catch(() => undefined))) return 'absent';
  return imageState(dataDir, []);
}

/** Runs a command that must be refused: exit 1, the message, a fix line, no stdout, `state()` unchanged. */
export async function refused(
  state: () => Promise<unknown>,
  run: () => Promise<{ code: number | null; stdout: string; stderr: string }>,
  message: RegExp,
  what: string,
): Promise<void> {
  const before = await state();
  const r = await run();
  assert.equal(r.code, 1, `${what}: ${r.stderr}`);
  // the CLI's own refusal, not a crash (an uncaught error also exits 1 and prints the message)
  assert.match(r.stderr, /^error: /, `${what}: printed as a refusal`);
  assert.doesNotMatch(r.stderr, /Unhandled|\n\s+at /, `${what}: no crash, no stack`);
  assert.match(r.stderr, message, what);
  assert.match(r.stderr, /^ {2}fix: \S/m, `${what} says what to do`);
  assert.equal(r.stdout, '', what);
  assert.deepEqual(await state(), before, `${what} changed nothing`);
}

export interface LsEntry {
  image: string;
  name: string;
  tag: string;
  pool: string;
  parent: { name: string; tag: string } | null;
  origin: 'build' | 'import';
  createdAt: string;
  referencedBytes: number;
  exclusiveBytes: number;
  sharedBytes: number;
}
