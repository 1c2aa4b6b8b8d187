/** Small filesystem helpers: atomic JSON records, existence checks. */
import { lstat, mkdir, readFile, rename, writeFile, stat, readdir, rm } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode });
  await rename(tmp, path);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Whether `path` (followed if a symlink) can be stat'ed. */
export async function exists(path: string): Promise<boolean> {
  // any failure counts as absent: callers only ask whether they can use the file
  try { await stat(path); return true; } catch { return false; }
}

const absent = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** test(stat) of path, or false when nothing is there; other failures than "not there" throw. */
async function statIs(path: string, follow: boolean, test: (s: Stats) => boolean): Promise<boolean> {
  try {
    return test(await (follow ? stat(path) : lstat(path)));
  } catch (e) {
    if (absent(e)) return false;
    throw e;
  }
}

/** True when something (anything, even a dangling symlink) is at `path`; other failures than "not there" throw. */
export const pathExists = (path: string): Promise<boolean> => statIs(path, false, () => true);

/** True when `path` is a directory (not a symlink to one); other failures than "not there" throw. */
export const isDirectory = (path: string): Promise<boolean> => statIs(path, false, (s) => s.isDirectory());

/** True when `path` (followed if a symlink) is a regular file; other failures than "not there" throw. */
export const isFile = (path: string): Promise<boolean> => statIs(path, true, (s) => s.isFile());

/** Names of *.json files in dir (without the extension); [] if dir is missing. */
export async function listJson(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

export { join };
