/**
 * A jail's record on disk: DATA_DIR/jails/NAME/jail.json. Everything the agent knows about a
 * jail lives here (and in runc's state), never only in memory, so a restarted agent picks up
 * where the last one left off.
 */
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { NotFoundError } from '../sys/errors.js';
import { readJson, writeJsonAtomic } from '../sys/fsutil.js';
import { checkName } from '../sys/names.js';
import type { JailSpec } from './model.js';
import type { JailState } from './service.js';

export interface JailRecord {
  name: string;
  spec: JailSpec;
  ip: string;
  pool: string;
  /** Writable dataset in the pool. */
  dataset: string;
  createdAt: string;
  /** What the user asked for last: running (create --start, start, restart) or stopped. */
  desired: 'running' | 'stopped';
  /** What the supervisor last saw or decided. */
  state: JailState;
  startedAt: string | null;
  /** When the supervisor first saw the current run dead. */
  diedAt: string | null;
  restarts: number;
  lastExitCode: number | null;
  lastExitReason: string | null;
}

export function jailsDir(dataDir: string): string {
  return join(dataDir, 'jails');
}

export function jailDir(dataDir: string, name: string): string {
  return join(jailsDir(dataDir), checkName('jail', name));
}

export function bundleDirOf(dataDir: string, name: string): string {
  return join(jailDir(dataDir, name), 'bundle');
}

export async function readRecord(dataDir: string, name: string): Promise<JailRecord | undefined> {
  return readJson<JailRecord>(join(jailDir(dataDir, name), 'jail.json'));
}

export async function getRecord(dataDir: string, name: string): Promise<JailRecord> {
  const r = await readRecord(dataDir, name);
  if (!r) throw new NotFoundError(`jail ${name} does not exist`, 'see the jails there are with: cellblock jail ls');
  return r;
}

export async function writeRecord(dataDir: string, r: JailRecord): Promise<void> {
  await writeJsonAtomic(join(jailDir(dataDir, r.name), 'jail.json'), r, 0o600);
}

export async function listRecords(dataDir: string): Promise<JailRecord[]> {
  let names: string[];
  try {
    names = (await readdir(jailsDir(dataDir))).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: JailRecord[] = [];
  for (const n of names) {
    // a directory whose record is missing or unreadable (a remove racing this list) is no jail
    const r = await readJson<JailRecord>(join(jailsDir(dataDir), n, 'jail.json')).catch(() => undefined);
    if (r) out.push(r);
  }
  return out;
}
