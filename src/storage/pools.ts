/**
 * Pools of one data dir: records under DATA_DIR/pools/NAME.json; create, open, list, destroy.
 * The default pool is named "default"; commands take --pool to pick another.
 */
import { join } from 'node:path';
import { ExistsError, NotFoundError } from '../sys/errors.js';
import { listJson, readJson, removeFile, writeJsonAtomic } from '../sys/fsutil.js';
import { checkName } from '../sys/names.js';
import type { DriverName, PoolContext, PoolRecord, StorageDriver } from './driver.js';
import { driverFactory } from './registry.js';

export const DEFAULT_POOL = 'default';
export const DEFAULT_POOL_SIZE = 20 * 1024 ** 3;

export function poolsDir(dataDir: string): string {
  return join(dataDir, 'pools');
}

function recordPath(dataDir: string, name: string): string {
  return join(poolsDir(dataDir), `${name}.json`);
}

export async function readPoolRecord(dataDir: string, name: string): Promise<PoolRecord | undefined> {
  return readJson<PoolRecord>(recordPath(dataDir, checkName('pool', name)));
}

export async function listPoolRecords(dataDir: string): Promise<PoolRecord[]> {
  const out: PoolRecord[] = [];
  for (const n of await listJson(poolsDir(dataDir))) {
    const r = await readJson<PoolRecord>(recordPath(dataDir, n));
    if (r) out.push(r);
  }
  return out;
}

export interface CreatePoolOptions {
  name?: string;
  driver?: DriverName;
  size?: number;
  path?: string;
}

export async function createPool(ctx: PoolContext, opts: CreatePoolOptions): Promise<PoolRecord> {
  const name = checkName('pool', opts.name ?? DEFAULT_POOL);
  const factory = driverFactory(opts.driver ?? 'btrfs');
  if (await readPoolRecord(ctx.dataDir, name)) {
    throw new ExistsError(`pool ${name} already exists`, `use it as it is, or remove it first with: cellblock pool destroy ${name === DEFAULT_POOL ? '' : name + ' '}--yes`);
  }
  const record = await factory.createPool(ctx, {
    name,
    size: opts.path ? opts.size : opts.size ?? DEFAULT_POOL_SIZE,
    path: opts.path,
  });
  try {
    await writeJsonAtomic(recordPath(ctx.dataDir, name), record);
  } catch (e) {
    await factory.destroyPool(ctx, record).catch((ce: unknown) => {
      if (e instanceof Error) e.message += ` (and the new pool's storage could not be removed: ${(ce as Error).message})`;
    });
    throw e;
  }
  return record;
}

/** Opens a pool by name. With `create`, the default pool is made on first use (btrfs loop file). */
export async function openPool(ctx: PoolContext, name = DEFAULT_POOL, opts: { create?: boolean } = {}): Promise<StorageDriver> {
  let record = await readPoolRecord(ctx.dataDir, name);
  if (!record) {
    if (opts.create && name === DEFAULT_POOL) record = await createPool(ctx, { name });
    else throw new NotFoundError(`pool ${name} does not exist`, `create it with: cellblock pool create${name === DEFAULT_POOL ? '' : ' ' + name}`);
  }
  const driver = await driverFactory(record.driver).open(ctx, record);
  if (driver.pool.loopDevice !== record.loopDevice) await writeJsonAtomic(recordPath(ctx.dataDir, name), driver.pool);
  return driver;
}

export async function destroyPool(ctx: PoolContext, name = DEFAULT_POOL): Promise<PoolRecord> {
  const record = await readPoolRecord(ctx.dataDir, name);
  if (!record) throw new NotFoundError(`pool ${name} does not exist`, 'see the pools there are with: cellblock pool ls');
  await driverFactory(record.driver).destroyPool(ctx, record);
  await removeFile(recordPath(ctx.dataDir, name));
  return record;
}
