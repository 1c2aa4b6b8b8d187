// The btrfs driver on a real loop pool (root only): datasets, snapshots, clones, rollback, space.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { btrfsDriver } from '../../../src/storage/btrfs/index.js';
import type { PoolRecord, StorageDriver } from '../../../src/storage/driver.js';
import { ExistsError, NotFoundError, UserError } from '../../../src/sys/errors.js';
import { exec } from '../../../src/sys/exec.js';
import { cleanupDataDir, loopDevicesUnder, mountsUnder, subvolumesOf, treeOf } from '../../helpers/loop-pools.js';

const skip = process.getuid?.() !== 0 && 'needs root';
const MiB = 1024 ** 2;

describe('btrfs driver on a loop pool', { skip }, () => {
  let dataDir: string;
  let record: PoolRecord;
  let d: StorageDriver;
  const ctx = () => ({ exec, dataDir });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cellblock-btrfs-'));
    record = await btrfsDriver.createPool(ctx(), { name: 'main', size: 512 * MiB });
    d = await btrfsDriver.open(ctx(), record);
  });

  after(async () => {
    try {
      if (record) await btrfsDriver.destroyPool(ctx(), record);
    } finally {
      await cleanupDataDir(dataDir);
    }
  });

  test('createPool makes a sparse file, a loop device and a mount, and records them', async () => {
    assert.equal(record.driver, 'btrfs');
    assert.equal(record.mountedByUs, true);
    assert.deepEqual(record.source, { kind: 'loop', file: join(dataDir, 'pools', 'main.img'), size: 512 * MiB });
    assert.equal(record.mountpoint, join(dataDir, 'pools', 'main'));
    const st = await stat(join(dataDir, 'pools', 'main.img'));
    assert.equal(st.size, 512 * MiB);
    assert.ok(st.blocks * 512 < 200 * MiB, 'the loop file is sparse');
    assert.deepEqual(await mountsUnder(dataDir), [record.mountpoint]);
    assert.deepEqual((await loopDevicesUnder(dataDir)).map((l) => l.device), [record.loopDevice]);
    const { stdout } = await exec(['btrfs', 'filesystem', 'label', record.mountpoint]);
    assert.equal(stdout.trim(), 'cellblock-main');
  });

  test('datasets are subvolumes; duplicates and bad names are refused', async () => {
    const info = await d.createDataset('data/app');
    assert.deepEqual(info, { name: 'data/app', path: join(record.mountpoint, 'data', 'app') });
    assert.equal((await stat(info.path)).ino, 256, 'a subvolume root');
    assert.equal((await stat(join(record.mountpoint, 'data'))).ino === 256, false, 'intermediate segments are plain directories');
    await d.createDataset('jails/web1');
    assert.equal(await d.datasetExists('data/app'), true);
    assert.equal(await d.datasetExists('data'), false);
    await assert.rejects(d.createDataset('data/app'), ExistsError);
    await assert.rejects(d.createDataset('data'), ExistsError, 'a directory holding datasets is not free');
    for (const bad of ['../x', 'Data', 'a//b', '.snapshots']) await assert.rejects(d.createDataset(bad), UserError, bad);
    assert.deepEqual((await d.listDatasets()).map((x) => x.name), ['data/app', 'jails/web1']);
  });

  test('snapshots are read-only, listed oldest first, and refuse duplicates', async () => {
    const head = d.datasetPath('data/app');
    await writeFile(join(head, 'f'), 'one');
    const s1 = await d.createSnapshot({ dataset: 'data/app', snapshot: 's1' });
    assert.equal(s1.path, join(record.mountpoint, '.snapshots', 'data', 'app@s1'));
    assert.ok(Math.abs(Date.parse(s1.createdAt) - Date.now()) < 60_000, s1.createdAt);
    await assert.rejects(writeFile(join(s1.path, 'g'), 'x'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
    await assert.rejects(writeFile(join(s1.path, 'f'), 'x'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
    await writeFile(join(head, 'f'), 'two');
    await d.createSnapshot({ dataset: 'data/app', snapshot: 's2' });
    await d.createSnapshot({ dataset: 'jails/web1', snapshot: 'a' });
    await assert.rejects(d.createSnapshot({ dataset: 'data/app', snapshot: 's1' }), ExistsError);
    await assert.rejects(d.createSnapshot({ dataset: 'data/nope', snapshot: 's1' }), NotFoundError);
    assert.equal(await readFile(join(s1.path, 'f'), 'utf8'), 'one');
    assert.deepEqual((await d.listSnapshots('data/app')).map((s) => s.name), ['s1', 's2']);
    assert.deepEqual((await d.listSnapshots()).map((s) => `${s.dataset}@${s.name}`), ['data/app@s1', 'data/app@s2', 'jails/web1@a']);
    assert.equal(await d.snapshotExists({ dataset: 'data/app', snapshot: 's2' }), true);
    assert.equal(await d.snapshotExists({ dataset: 'data/app', snapshot: 's3' }), false);
  });

  test('a clone is writable, starts as the snapshot, and remembers its origin', async () => {
    const c = await d.clone({ dataset: 'data/app', snapshot: 's1' }, 'data/test');
    assert.deepEqual(c, { name: 'data/test', path: join(record.mountpoint, 'data', 'test'), origin: 'data/app@s1' });
    assert.equal(await readFile(join(c.path, 'f'), 'utf8'), 'one');
    await writeFile(join(c.path, 'f'), 'clone');
    assert.equal(await readFile(d.snapshotPath({ dataset: 'data/app', snapshot: 's1' }) + '/f', 'utf8'), 'one');
    assert.equal((await d.listDatasets()).find((x) => x.name === 'data/test')?.origin, 'data/app@s1');
    await assert.rejects(d.clone({ dataset: 'data/app', snapshot: 's1' }, 'data/app'), ExistsError);
    await assert.rejects(d.clone({ dataset: 'data/app', snapshot: 'zz' }, 'data/other'), NotFoundError);
    assert.equal(await d.datasetExists('data/other'), false);
  });

  test('rollback swaps in the snapshot, keeps later snapshots and leaves no work files', async () => {
    const head = d.datasetPath('data/app');
    await writeFile(join(head, 'f'), 'three');
    await writeFile(join(head, 'new'), 'x');
    await d.rollback({ dataset: 'data/app', snapshot: 's1' });
    assert.equal(await readFile(join(head, 'f'), 'utf8'), 'one');
    assert.deepEqual(await readdir(head), ['f']);
    assert.deepEqual((await d.listSnapshots('data/app')).map((s) => s.name), ['s1', 's2']);
    assert.deepEqual((await readdir(join(record.mountpoint, 'data'))).sort(), ['app', 'test']);
    assert.equal((await d.listDatasets()).find((x) => x.name === 'data/app')?.origin, undefined, 'a rolled-back head is no clone');
    await d.rollback({ dataset: 'data/app', snapshot: 's2' });
    assert.equal(await readFile(join(head, 'f'), 'utf8'), 'two');
    await assert.rejects(d.rollback({ dataset: 'data/app', snapshot: 'zz' }), NotFoundError);
    assert.equal(await readFile(join(head, 'f'), 'utf8'), 'two', 'a refused rollback changes nothing');
  });

  test('usage counts referenced and exclusive bytes', async () => {
    await d.createDataset('space');
    const head = d.datasetPath('space');
    await writeFile(join(head, 'big'), randomBytes(4 * MiB));
    await exec(['sync']);
    const before = await d.usage('space');
    assert.equal(before.referenced, 4 * MiB);
    assert.equal(before.exclusive, 4 * MiB);
    await d.createSnapshot({ dataset: 'space', snapshot: 'a' });
    const shared = await d.usage('space');
    assert.deepEqual(shared, { referenced: 4 * MiB, exclusive: 0 }, 'after a snapshot every block is shared');
    await writeFile(join(head, 'big'), randomBytes(4 * MiB));
    await exec(['sync']);
    assert.deepEqual(await d.usage('space'), { referenced: 4 * MiB, exclusive: 4 * MiB });
    assert.deepEqual(await d.usage({ dataset: 'space', snapshot: 'a' }), { referenced: 4 * MiB, exclusive: 4 * MiB });
    await assert.rejects(d.usage('nope'), NotFoundError);
    await assert.rejects(d.usage({ dataset: 'space', snapshot: 'nope' }), NotFoundError);
  });

  test('destroyDataset: keepSnapshots keeps them; otherwise they go too; empty parents are removed', async () => {
    await d.destroyDataset('jails/web1', { keepSnapshots: true });
    assert.equal(await d.datasetExists('jails/web1'), false);
    assert.deepEqual((await readdir(record.mountpoint)).includes('jails'), false, 'the empty intermediate directory went too');
    assert.deepEqual((await d.listSnapshots('jails/web1')).map((s) => s.name), ['a']);
    const c = await d.clone({ dataset: 'jails/web1', snapshot: 'a' }, 'jails/web2');
    assert.ok(c.path);
    await d.destroyDataset('jails/web2');
    await d.destroyDataset('jails/web1');
    assert.deepEqual(await d.listSnapshots('jails/web1'), []);
    assert.equal((await readdir(join(record.mountpoint, '.snapshots'))).includes('jails'), false);
    await d.destroyDataset('jails/web1'); // missing: no-op
    await d.destroySnapshot({ dataset: 'jails/web1', snapshot: 'a' }); // missing: no-op
  });

  test('nested datasets: the outer one cannot be removed or rolled back while the inner exists', async () => {
    await d.createDataset('outer');
    await d.createSnapshot({ dataset: 'outer', snapshot: 's' });
    await d.createDataset('outer/inner');
    const subs = await subvolumesOf(record.mountpoint);
    await assert.rejects(d.destroyDataset('outer'), /holds other datasets \(outer\/inner\)/);
    await assert.rejects(d.rollback({ dataset: 'outer', snapshot: 's' }), /holds other datasets/);
    assert.deepEqual(await subvolumesOf(record.mountpoint), subs);
    await d.destroyDataset('outer/inner');
    await d.destroyDataset('outer');
    assert.equal(await d.datasetExists('outer'), false);
  });

  test('open() re-attaches and mounts a pool after a "reboot", and reuses a mounted one', async () => {
    const files = await treeOf(record.mountpoint);
    await exec(['umount', record.mountpoint]);
    await exec(['losetup', '-d', record.loopDevice!]);
    assert.deepEqual(await mountsUnder(dataDir), []);
    const again = await btrfsDriver.open(ctx(), record);
    assert.deepEqual(await mountsUnder(dataDir), [record.mountpoint]);
    assert.equal((await loopDevicesUnder(dataDir)).length, 1);
    assert.deepEqual(await treeOf(record.mountpoint), files);
    assert.equal(await readFile(join(again.datasetPath('data/app'), 'f'), 'utf8'), 'two');
    // attached but not mounted: the existing loop device is used
    await exec(['umount', record.mountpoint]);
    const third = await btrfsDriver.open(ctx(), again.pool);
    assert.equal((await loopDevicesUnder(dataDir)).length, 1, 'no second loop device');
    const fourth = await btrfsDriver.open(ctx(), third.pool);
    assert.equal(fourth.pool.loopDevice, third.pool.loopDevice);
    assert.deepEqual(await mountsUnder(dataDir), [record.mountpoint]);
    record = fourth.pool;
    d = fourth;
  });

  test('destroyPool removes everything and can be run again', async () => {
    await btrfsDriver.destroyPool(ctx(), record);
    assert.deepEqual(await mountsUnder(dataDir), []);
    assert.deepEqual(await loopDevicesUnder(dataDir), []);
    assert.deepEqual(await readdir(join(dataDir, 'pools')), []);
    await btrfsDriver.destroyPool(ctx(), record);
    await assert.rejects(btrfsDriver.open(ctx(), record), NotFoundError);
  });
});
