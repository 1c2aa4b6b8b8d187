import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Writable } from 'node:stream';
import { diskOf, limitDisk } from '../../src/jail/disk.js';
import type { DiskUse, DriverInfo, StorageDriver } from '../../src/storage/driver.js';
import type { JailRecord } from '../../src/jail/record.js';

/** A driver that records setDiskLimit and answers diskUse (or fails it). */
function driver(diskLimit: DriverInfo['diskLimit'], use?: DiskUse | Error): { d: StorageDriver; limits: [string, number | null][] } {
  const limits: [string, number | null][] = [];
  const d = {
    info: { name: diskLimit ? 'btrfs' : 'dir', diskLimit, diskLimitNote: diskLimit ? 'quota groups' : 'the dir driver cannot enforce a disk limit' },
    pool: { name: 'p' },
    async setDiskLimit(ds: string, bytes: number | null) { limits.push([ds, bytes]); },
    async diskUse() { if (use instanceof Error) throw use; return use!; },
  } as unknown as StorageDriver;
  return { d, limits };
}

const rec = (diskBytes?: number) => ({ name: 'web', dataset: 'jails/web', spec: { ...(diskBytes !== undefined ? { diskBytes } : {}) } }) as unknown as JailRecord;

test('limitDisk sets the limit where the driver can; on a dir pool it sets nothing and logs that it is not enforced', async () => {
  const btrfs = driver('referenced');
  await limitDisk(btrfs.d, 'jails/web', 1024, 'web');
  await limitDisk(btrfs.d, 'jails/web', undefined, 'web');
  assert.deepEqual(btrfs.limits, [['jails/web', 1024]]);

  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } }));
  const dir = driver(null);
  await limitDisk(dir.d, 'jails/web', 1024 ** 3, 'web', log);
  assert.deepEqual(dir.limits, []);
  assert.equal(lines.length, 1);
  assert.match(JSON.parse(lines[0]!).msg, /^jail web: disk limit 1\.00G not enforced: the dir driver cannot enforce a disk limit$/);
});

test('diskOf: the limit from the record, the use from the driver; not enforced on a dir pool; unknown use when the driver fails', async () => {
  assert.deepEqual(await diskOf(driver('referenced', { used: 5, limitBytes: 100 }).d, rec(100), () => {}), { limitBytes: 100, usedBytes: 5, enforced: true });
  assert.deepEqual(await diskOf(driver(null).d, rec(100), () => {}), { limitBytes: 100, usedBytes: null, enforced: false });
  assert.deepEqual(await diskOf(driver('referenced', { used: 5, limitBytes: null }).d, rec(), () => {}), { limitBytes: null, usedBytes: 5, enforced: false });
  const warned: unknown[] = [];
  assert.deepEqual(await diskOf(driver('referenced', new Error('quota not enabled')).d, rec(100), (e) => warned.push(e)), { limitBytes: 100, usedBytes: null, enforced: true });
  assert.equal(warned.length, 1);
});
