// The real zfs driver on a throw-away zpool backed by a sparse file. Runs only as root on a
// host with the ZFS kernel module and zfsutils-linux; elsewhere it is skipped with the reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { exec, hasTool } from '../../../src/sys/exec.js';
import { ExistsError, NotSupportedError } from '../../../src/sys/errors.js';
import { zfsDriver } from '../../../src/storage/zfs/index.js';
import type { PoolContext, PoolRecord, StorageDriver } from '../../../src/storage/driver.js';

async function skipReason(): Promise<string | undefined> {
  const fss = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (!/\bzfs\b/.test(fss)) return 'no ZFS kernel module on this host';
  if (!(await hasTool('zfs')) || !(await hasTool('zpool'))) return 'zfs tools not installed (zfsutils-linux)';
  if (process.getuid?.() !== 0) return 'needs root';
  return undefined;
}

const skip = await skipReason();

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('zfs driver on a real zpool', () => {
  let tmp: string;
  let zpool: string | undefined;
  let ctx: PoolContext;
  let recA: PoolRecord | undefined;
  let recB: PoolRecord | undefined;
  let a: StorageDriver;
  let b: StorageDriver;

  before(async () => {
    if (skip) return;
    tmp = await mkdtemp(join(tmpdir(), 'cellblock-zfs-'));
    const vdev = join(tmp, 'vdev.img');
    await writeFile(vdev, '');
    await truncate(vdev, 512 * 1024 * 1024);
    const name = `cbtest${randomBytes(4).toString('hex')}`;
    await exec(['zpool', 'create', '-m', join(tmp, 'mnt'), name, vdev]);
    zpool = name;
    ctx = { exec, dataDir: join(tmp, 'data') };
    recA = await zfsDriver.createPool(ctx, { name: 'a', path: name });
    recB = await zfsDriver.createPool(ctx, { name: 'b', path: name });
    a = await zfsDriver.open(ctx, recA);
    b = await zfsDriver.open(ctx, recB);
  });

  after(async () => {
    if (skip) return;
    try {
      if (recA) await zfsDriver.destroyPool(ctx, recA).catch(() => {});
      if (recB) await zfsDriver.destroyPool(ctx, recB).catch(() => {});
    } finally {
      if (zpool) await exec(['zpool', 'destroy', '-f', zpool]).catch(() => {});
      await rm(tmp, { recursive: true, force: true });
    }
  });

  test('the pool is one marked child dataset of --path', { skip }, async () => {
    assert.deepEqual(recA!.source, { kind: 'zfs', dataset: `${zpool}/cellblock-a` });
    assert.equal(recA!.mountpoint, join(tmp, 'mnt', 'cellblock-a'));
    await assert.rejects(zfsDriver.createPool(ctx, { name: 'c', path: `${zpool}/nope` }), /does not exist/);
  });

  test('datasets, snapshots, clones, rollback to the latest, usage', { skip }, async () => {
    await a.createDataset('jails/web1');
    await assert.rejects(a.createDataset('jails/web1'), ExistsError);
    const head = a.datasetPath('jails/web1');
    await writeFile(join(head, 'f'), 'v1');
    const s1 = await a.createSnapshot({ dataset: 'jails/web1', snapshot: 's1' });
    await writeFile(join(head, 'f'), 'v2');
    assert.equal(await readFile(join(s1.path, 'f'), 'utf8'), 'v1');
    await a.createSnapshot({ dataset: 'jails/web1', snapshot: 's2' });
    assert.deepEqual((await a.listDatasets()).map((d) => d.name), ['jails/web1']);
    assert.deepEqual((await a.listSnapshots('jails/web1')).map((s) => s.name), ['s1', 's2']);
    await assert.rejects(a.rollback({ dataset: 'jails/web1', snapshot: 's1' }), NotSupportedError);
    await writeFile(join(head, 'f'), 'v3');
    await a.rollback({ dataset: 'jails/web1', snapshot: 's2' });
    assert.equal(await readFile(join(head, 'f'), 'utf8'), 'v2');
    const c = await a.clone({ dataset: 'jails/web1', snapshot: 's1' }, 'jails/web2');
    assert.equal(await readFile(join(c.path, 'f'), 'utf8'), 'v1');
    assert.equal((await a.listDatasets()).find((d) => d.name === 'jails/web2')?.origin, 'jails/web1@s1');
    const u = await a.usage('jails/web1');
    assert.ok(u.referenced > 0 && u.exclusive <= u.referenced);
    await a.destroyDataset('jails/web2');
  });

  test('destroyDataset keeping snapshots keeps a read-only head until the last snapshot goes', { skip }, async () => {
    await a.createDataset('img/site');
    await writeFile(join(a.datasetPath('img/site'), 'index.html'), 'hello');
    await a.createSnapshot({ dataset: 'img/site', snapshot: 'image' });
    await a.destroyDataset('img/site', { keepSnapshots: true });
    assert.equal(await a.datasetExists('img/site'), false);
    assert.equal(await a.snapshotExists({ dataset: 'img/site', snapshot: 'image' }), true);
    await a.destroySnapshot({ dataset: 'img/site', snapshot: 'image' });
    assert.equal((await a.listSnapshots()).some((s) => s.dataset === 'img/site'), false);
  });

  test('full and incremental send/receive between two pools; a bad stream leaves nothing', { skip }, async () => {
    const full = a.send({ dataset: 'jails/web1', snapshot: 's1' });
    const [bytes] = await Promise.all([collect(full.stream), full.done]);
    await b.receive(Readable.from([bytes]), { dataset: 'copy', snapshot: 's1' });
    const inc = a.send({ dataset: 'jails/web1', snapshot: 's2' }, { dataset: 'jails/web1', snapshot: 's1' });
    const [incBytes] = await Promise.all([collect(inc.stream), inc.done]);
    assert.ok(incBytes.length < bytes.length + 4096);
    await b.receive(Readable.from([incBytes]), { dataset: 'copy', snapshot: 's2' }, { dataset: 'copy', snapshot: 's1' });
    assert.equal(await readFile(join(b.snapshotPath({ dataset: 'copy', snapshot: 's2' }), 'f'), 'utf8'), 'v2');
    await assert.rejects(b.receive(Readable.from([bytes.subarray(0, bytes.length >> 1)]), { dataset: 'bad/trunc', snapshot: 's' }));
    assert.equal(await b.datasetExists('bad/trunc'), false);
    assert.deepEqual((await b.listSnapshots()).map((s) => `${s.dataset}@${s.name}`), ['copy@s1', 'copy@s2']);
  });
});
