/**
 * btrfs pools: create, open (re-attach and mount after a reboot), destroy.
 *
 * - loop pool (no --path): DATA_DIR/pools/NAME.img, a sparse file holding a btrfs
 *   filesystem labelled cellblock-NAME, attached to a loop device and mounted at
 *   DATA_DIR/pools/NAME. Destroy unmounts, detaches and removes the file.
 * - path pool (--path DIR on an existing btrfs filesystem): a subvolume DIR/cellblock-NAME
 *   holds everything; the user's other data in DIR is never touched. Destroy deletes the
 *   subvolumes under it, then it.
 */
import { mkdir, open, readdir, readFile, realpath, rm, rmdir, stat, statfs } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ExistsError, NotFoundError, UserError } from '../../sys/errors.js';
import { Revert } from '../../sys/revert.js';
import { formatSize } from '../../sys/size.js';
import type { PoolContext, PoolCreateRequest, PoolRecord } from '../driver.js';
import * as argv from './argv.js';
import { isKind, run } from './classify.js';
import { isSubvolume, pathExists, snapshotsRoot } from './layout.js';
import { parseLosetupJson, parseMounts, parseSubvolumeList, parseSubvolumeShow } from './parse.js';

/** statfs f_type of btrfs (BTRFS_SUPER_MAGIC, linux/magic.h). */
export const BTRFS_MAGIC = 0x9123683e;
/** mkfs.btrfs needs about 114M for its default profiles; leave room for data. */
export const MIN_LOOP_SIZE = 256 * 1024 ** 2;

export function poolLabel(name: string): string {
  return `cellblock-${name}`;
}

async function mountsAt(target: string): Promise<{ source: string; fstype: string }[]> {
  let real = target;
  try { real = await realpath(target); } catch { /* missing: nothing is mounted there */ }
  const all = parseMounts(await readFile('/proc/self/mounts', 'utf8'));
  return all.filter((m) => m.target === real);
}

async function loopDevicesOf(ctx: PoolContext, file: string): Promise<string[]> {
  const { stdout } = await run(ctx.exec, argv.losetupAssociated(file, { json: true }));
  return parseLosetupJson(stdout).map((d) => d.device);
}

async function isBtrfs(path: string): Promise<boolean> {
  return (await statfs(path)).type === BTRFS_MAGIC;
}

export async function createPool(ctx: PoolContext, req: PoolCreateRequest): Promise<PoolRecord> {
  if (process.getuid?.() !== 0) {
    throw new UserError('creating a btrfs pool needs root: it attaches a loop device, makes a filesystem and mounts it', 'run it with sudo, or use a pool of plain directories: cellblock pool create --driver dir');
  }
  return req.path === undefined ? createLoopPool(ctx, req.name, req.size) : createPathPool(ctx, req.name, req.path, req.size);
}

async function createLoopPool(ctx: PoolContext, name: string, size: number | undefined): Promise<PoolRecord> {
  if (size === undefined) throw new UserError('a btrfs loop pool needs a size', 'give one, for example --size 20G');
  if (!Number.isSafeInteger(size) || size < MIN_LOOP_SIZE) {
    throw new UserError(`size ${formatSize(size)} is too small for a btrfs pool`, `use at least ${formatSize(MIN_LOOP_SIZE)}`);
  }
  const dir = join(resolve(ctx.dataDir), 'pools');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${name}.img`);
  const mountpoint = join(dir, name);
  return Revert.run(async (r) => {
    let fh;
    try {
      fh = await open(file, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ExistsError(`loop file ${file} already exists`, `remove it if nothing uses it (cellblock pool destroy ${name} --yes), or choose another pool name`);
      throw e;
    }
    r.add(`remove ${file}`, () => rm(file, { force: true }));
    try { await fh.truncate(size); } finally { await fh.close(); }
    const device = (await run(ctx.exec, argv.losetupAttach(file))).stdout.trim();
    if (!device.startsWith('/dev/')) throw new Error(`losetup printed no device for ${file}: ${JSON.stringify(device)}`);
    r.add(`detach ${device}`, async () => { await run(ctx.exec, argv.losetupDetach(device)); });
    await run(ctx.exec, argv.mkfsBtrfs(device, { label: poolLabel(name), quiet: true }));
    await makeMountpoint(r, mountpoint);
    await run(ctx.exec, argv.mount(device, mountpoint, { type: 'btrfs' }));
    r.add(`unmount ${mountpoint}`, async () => { await run(ctx.exec, argv.umount(mountpoint)); });
    await mkdir(snapshotsRoot(mountpoint));
    // quota groups from the start: jails' disk limits (README "Disk limits"); cheap on an empty filesystem
    await run(ctx.exec, argv.quotaEnable(mountpoint));
    return {
      name,
      driver: 'btrfs',
      mountpoint,
      source: { kind: 'loop', file, size },
      loopDevice: device,
      mountedByUs: true,
      createdAt: new Date().toISOString(),
    } satisfies PoolRecord;
  });
}

/** Makes the mount point; an existing empty, unmounted directory is taken as it is. */
async function makeMountpoint(r: Revert, mountpoint: string): Promise<void> {
  try {
    await mkdir(mountpoint, { mode: 0o700 });
    r.add(`remove ${mountpoint}`, () => rmdir(mountpoint));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if ((await mountsAt(mountpoint)).length > 0 || (await readdir(mountpoint)).length > 0) {
      throw new ExistsError(`${mountpoint} is in use (mounted or not empty)`, 'unmount or empty it, or choose another pool name');
    }
  }
}

async function createPathPool(ctx: PoolContext, name: string, path: string, size: number | undefined): Promise<PoolRecord> {
  if (size !== undefined) throw new UserError('a btrfs pool on an existing --path takes no size', 'leave --size out: the pool uses the free space of that filesystem');
  const base = resolve(path);
  let st;
  try { st = await stat(base); } catch { throw new NotFoundError(`--path ${base} does not exist`, 'give the directory of an existing btrfs mount'); }
  if (!st.isDirectory()) throw new UserError(`--path ${base} is not a directory`, 'give the directory of an existing btrfs mount');
  if (!(await isBtrfs(base))) {
    throw new UserError(`--path ${base} is not on a btrfs filesystem`, 'give a directory on a btrfs mount, or leave --path out for a btrfs pool on a loop file');
  }
  const root = join(base, poolLabel(name));
  if (await pathExists(root)) throw new ExistsError(`${root} already exists`, `choose another pool name, or remove ${root} if it is a leftover`);
  try {
    await run(ctx.exec, argv.subvolumeCreate(root));
  } catch (e) {
    if (isKind(e, 'exists')) throw new ExistsError(`${root} already exists`, 'choose another pool name');
    throw e;
  }
  try {
    await mkdir(snapshotsRoot(root));
  } catch (e) {
    await run(ctx.exec, argv.subvolumeDelete([root])).catch((ce: unknown) => {
      if (e instanceof Error) e.message += ` (and ${root} could not be removed: ${(ce as Error).message})`;
    });
    throw e;
  }
  return { name, driver: 'btrfs', mountpoint: root, source: { kind: 'path', path: base }, mountedByUs: false, createdAt: new Date().toISOString() };
}

/** Makes sure the pool's root is there: a loop pool is re-attached and mounted if needed. Returns the record as it is now. */
export async function ensurePool(ctx: PoolContext, record: PoolRecord): Promise<PoolRecord> {
  const now = await attach(ctx, record);
  await mkdir(snapshotsRoot(now.mountpoint), { recursive: true });
  return now;
}

async function attach(ctx: PoolContext, record: PoolRecord): Promise<PoolRecord> {
  const src = record.source;
  if (src.kind === 'path') {
    if (!(await isSubvolume(record.mountpoint)) || !(await isBtrfs(record.mountpoint))) {
      throw new NotFoundError(`pool ${record.name}: ${record.mountpoint} is missing or not a btrfs subvolume`, `mount the filesystem holding ${src.path}, or forget the pool with: cellblock pool destroy ${record.name} --yes`);
    }
    return record;
  }
  if (src.kind !== 'loop') throw new UserError(`pool ${record.name} has a ${src.kind} source, which the btrfs driver cannot open`, 'check DATA_DIR/pools/NAME.json');
  const mounted = (await mountsAt(record.mountpoint)).find((m) => m.fstype === 'btrfs');
  if (mounted) return { ...record, loopDevice: mounted.source.startsWith('/dev/loop') ? mounted.source : record.loopDevice };
  if (!(await pathExists(src.file))) {
    throw new NotFoundError(`pool ${record.name}: its loop file ${src.file} is missing`, `forget the pool with: cellblock pool destroy ${record.name} --yes`);
  }
  return Revert.run(async (r) => {
    let device = (await loopDevicesOf(ctx, src.file))[0];
    if (!device) {
      device = (await run(ctx.exec, argv.losetupAttach(src.file))).stdout.trim();
      const d = device;
      r.add(`detach ${d}`, async () => { await run(ctx.exec, argv.losetupDetach(d)); });
    }
    await mkdir(record.mountpoint, { recursive: true, mode: 0o700 });
    await run(ctx.exec, argv.mount(device, record.mountpoint, { type: 'btrfs' }));
    return { ...record, loopDevice: device };
  });
}

/** Removes what createPool made. Each step tolerates its part being gone already. */
export async function destroyPool(ctx: PoolContext, record: PoolRecord): Promise<void> {
  const src = record.source;
  if (src.kind === 'path') return destroyPathPool(ctx, record);
  if (src.kind !== 'loop') throw new UserError(`pool ${record.name} has a ${src.kind} source, which the btrfs driver cannot destroy`, 'check DATA_DIR/pools/NAME.json');
  for (let i = 0; i < 8 && (await mountsAt(record.mountpoint)).length > 0; i++) {
    try {
      await run(ctx.exec, argv.umount(record.mountpoint));
    } catch (e) {
      if (isKind(e, 'busy')) throw new UserError(`pool ${record.name} is busy: something still uses ${record.mountpoint}`, 'stop the jails and processes using it (see: fuser -vm ' + record.mountpoint + '), then destroy again');
      if (!isKind(e, 'not-found')) throw e;
    }
  }
  if (await pathExists(src.file)) {
    for (const device of await loopDevicesOf(ctx, src.file)) {
      try {
        await run(ctx.exec, argv.losetupDetach(device));
      } catch (e) {
        if (!isKind(e, 'not-found')) throw e;
      }
    }
  }
  await rm(src.file, { force: true });
  try {
    await rmdir(record.mountpoint);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

async function destroyPathPool(ctx: PoolContext, record: PoolRecord): Promise<void> {
  const root = record.mountpoint;
  if (basename(root) !== poolLabel(record.name)) throw new Error(`refusing to destroy ${root}: not a cellblock pool root for ${record.name}`);
  if (!(await isSubvolume(root))) return;
  const prefix = parseSubvolumeShow((await run(ctx.exec, argv.subvolumeShow(root))).stdout).path;
  if (prefix === '') throw new Error(`refusing to destroy ${root}: it is the top level of its filesystem`);
  const below = parseSubvolumeList((await run(ctx.exec, argv.subvolumeList(root))).stdout)
    .map((s) => s.path)
    .filter((p) => p.startsWith(prefix + '/'))
    .map((p) => join(root, p.slice(prefix.length + 1)))
    .sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
  // deepest first: a subvolume with subvolumes inside cannot be deleted
  for (const p of [...below, root]) {
    try {
      await run(ctx.exec, argv.subvolumeDelete([p]));
    } catch (e) {
      if (!isKind(e, 'not-found')) throw e;
    }
  }
}
