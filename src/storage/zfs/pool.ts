/**
 * A zfs pool's life. createPool takes --path, an existing zfs pool or dataset (`tank`,
 * `tank/cellblock`), and creates one child dataset in it, `<path>/cellblock-<NAME>`, marked
 * with the user properties cellblock:pool and cellblock:datadir; every dataset of the pool
 * lives below it, and destroyPool destroys exactly it (`zfs destroy -r`). Its mountpoint is
 * inherited from --path's; where that is `none` or `legacy`, it is set to DATA_DIR/pools/NAME.
 */
import { join, resolve } from 'node:path';
import { ExistsError, NotFoundError, UserError } from '../../sys/errors.js';
import { checkName } from '../../sys/names.js';
import { Revert } from '../../sys/revert.js';
import type { PoolContext, PoolCreateRequest, PoolRecord } from '../driver.js';
import * as argv from './argv.js';
import { isKind, run } from './classify.js';
import { ZfsDriver } from './driver.js';
import { checkZfsName, DATADIR_PROP, POOL_PROP, rootName } from './layout.js';
import { parseList, type ListRow } from './parse.js';

const ROOT_COLUMNS = ['name', 'mountpoint', 'mounted', POOL_PROP, DATADIR_PROP];

async function rootRow(ctx: PoolContext, name: string): Promise<ListRow | undefined> {
  try {
    const { stdout } = await run(ctx.exec, argv.list(ROOT_COLUMNS, { types: ['filesystem'], name }));
    return parseList(stdout, ROOT_COLUMNS)[0];
  } catch (e) {
    if (isKind(e, 'not-found')) return undefined;
    throw e;
  }
}

function isPath(mp: string | undefined): mp is string {
  return mp !== undefined && mp.startsWith('/');
}

export async function createZfsPool(ctx: PoolContext, req: PoolCreateRequest): Promise<PoolRecord> {
  const name = checkName('pool', req.name);
  if (req.path === undefined) throw new UserError('the zfs driver needs --path', 'give an existing zfs pool or dataset, for example --path tank/cellblock');
  if (req.size !== undefined) throw new UserError('--size does not apply to a zfs pool', 'a zfs pool takes the space of the zfs pool it is in; leave --size out');
  const parent = checkZfsName('--path', req.path);
  const dataDir = resolve(ctx.dataDir);
  if (!(await rootRow(ctx, parent))) {
    throw new NotFoundError(`zfs dataset ${parent} does not exist`, `give an existing pool or dataset (see: zfs list), or create it first: zfs create ${parent}`);
  }
  const root = rootName(parent, name);
  const record = (mountpoint: string, createdAt: string): PoolRecord => ({
    name, driver: 'zfs', mountpoint, source: { kind: 'zfs', dataset: root }, mountedByUs: false, createdAt,
  });
  const existing = await rootRow(ctx, root);
  if (existing) {
    // Ours already: the record was lost (or this is a retry); take the dataset back as it is.
    if (existing.user[POOL_PROP] === name && existing.user[DATADIR_PROP] === dataDir && isPath(existing.mountpoint)) {
      return record(existing.mountpoint, new Date().toISOString());
    }
    throw new ExistsError(`zfs dataset ${root} already exists`, 'give another --path or pool name, or destroy that dataset first');
  }
  return Revert.run(async (r) => {
    await run(ctx.exec, argv.create(root, { props: { [POOL_PROP]: name, [DATADIR_PROP]: dataDir } }));
    r.add(`destroy ${root}`, async () => { await run(ctx.exec, argv.destroy(root, { recursive: true })); });
    let row = await rootRow(ctx, root);
    if (!isPath(row?.mountpoint)) {
      await run(ctx.exec, argv.set(root, { mountpoint: join(dataDir, 'pools', name) }));
      row = await rootRow(ctx, root);
    }
    if (!row?.mounted) await run(ctx.exec, argv.mount(root));
    return record(row!.mountpoint!, new Date().toISOString());
  });
}

/** Checks the root dataset is there and ours, and mounts what a reboot left unmounted. */
export async function openZfsPool(ctx: PoolContext, record: PoolRecord): Promise<ZfsDriver> {
  if (record.source.kind !== 'zfs') throw new Error(`pool ${record.name} is not a zfs pool`);
  const root = record.source.dataset;
  const row = await rootRow(ctx, root);
  if (!row || row.user[POOL_PROP] !== record.name) {
    throw new NotFoundError(
      `the zfs dataset of pool ${record.name} (${root}) is missing or not this pool's`,
      `import its zfs pool (zpool import), or forget the pool with: cellblock pool destroy ${record.name} --yes`,
    );
  }
  const cols = ['name', 'mounted', 'canmount'];
  const { stdout } = await run(ctx.exec, argv.list(cols, { types: ['filesystem'], recursive: true, name: root }));
  for (const fs of parseList(stdout, cols)) {
    if (!fs.mounted && fs.canmount === 'on') await run(ctx.exec, argv.mount(fs.name));
  }
  const mountpoint = isPath(row.mountpoint) ? row.mountpoint : record.mountpoint;
  return new ZfsDriver(ctx, { ...record, mountpoint });
}

/** Destroys the root dataset and everything below it; a missing one, or one that is not this pool's, is left alone. */
export async function destroyZfsPool(ctx: PoolContext, record: PoolRecord): Promise<void> {
  if (record.source.kind !== 'zfs') return;
  const root = record.source.dataset;
  const row = await rootRow(ctx, root);
  if (!row || row.user[POOL_PROP] !== record.name) return;
  try {
    await run(ctx.exec, argv.destroy(root, { recursive: true }));
  } catch (e) {
    if (isKind(e, 'busy')) {
      throw new UserError(`cannot destroy zfs dataset ${root}: ${e.stderr.trim().split('\n')[0]}`, 'stop the jails using the pool, and destroy clones made from its snapshots outside it');
    }
    throw e;
  }
}
