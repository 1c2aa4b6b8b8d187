// btrfs pool creation and removal with real tools (root only): a failure at any step of
// createPool leaves nothing; pools on an existing btrfs mount touch nothing but their own subvolume.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { btrfsDriver } from '../../../src/storage/btrfs/index.js';
import type { PoolRecord } from '../../../src/storage/driver.js';
import { ExecError, ExistsError, NotFoundError, UserError } from '../../../src/sys/errors.js';
import { exec, type Exec } from '../../../src/sys/exec.js';
import { cleanupDataDir, stateOf, subvolumesOf } from '../../helpers/loop-pools.js';

const skip = process.getuid?.() !== 0 && 'needs root';
const MiB = 1024 ** 2;

/** The real exec, except that the first command starting with `tool` fails like a real failure would. */
function failing(tool: string): { exec: Exec; ran: string[][] } {
  const ran: string[][] = [];
  let failed = false;
  return {
    ran,
    exec: async (argv, opts) => {
      ran.push([...argv]);
      if (!failed && argv[0] === tool) {
        failed = true;
        throw new ExecError(argv, 1, `${tool}: injected failure`);
      }
      return exec(argv, opts);
    },
  };
}

describe('btrfs pools', { skip }, () => {
  let dataDir: string;
  let host: PoolRecord | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cellblock-btrfs-pool-'));
  });

  after(async () => {
    try {
      if (host) await btrfsDriver.destroyPool({ exec, dataDir }, host);
    } finally {
      await cleanupDataDir(dataDir);
    }
  });

  for (const tool of ['losetup', 'mkfs.btrfs', 'mount']) {
    test(`a failing ${tool} leaves no file, loop device, mount or directory`, async () => {
      await mkdir(join(dataDir, 'pools'), { recursive: true });
      const before = await stateOf(dataDir);
      const f = failing(tool);
      await assert.rejects(btrfsDriver.createPool({ exec: f.exec, dataDir }, { name: 'broken', size: 256 * MiB }), /injected failure/);
      assert.ok(f.ran.some((a) => a[0] === tool), `${tool} ran`);
      assert.deepEqual(await stateOf(dataDir), before);
    });
  }

  test('bad sizes are refused before anything is made', async () => {
    const before = await stateOf(dataDir);
    await assert.rejects(btrfsDriver.createPool({ exec, dataDir }, { name: 'small', size: 100 * MiB }), (e: unknown) => e instanceof UserError && /too small/.test(e.message));
    await assert.rejects(btrfsDriver.createPool({ exec, dataDir }, { name: 'nosize' }), UserError);
    assert.deepEqual(await stateOf(dataDir), before);
  });

  test('a loop file that is already there is not overwritten', async () => {
    await writeFile(join(dataDir, 'pools', 'taken.img'), 'someone else\'s');
    await assert.rejects(btrfsDriver.createPool({ exec, dataDir }, { name: 'taken', size: 256 * MiB }), ExistsError);
    assert.equal(await readFile(join(dataDir, 'pools', 'taken.img'), 'utf8'), 'someone else\'s');
  });

  test('a pool on an existing btrfs mount lives in its own subvolume and leaves the rest alone', async () => {
    host = await btrfsDriver.createPool({ exec, dataDir }, { name: 'host', size: 512 * MiB });
    const srv = join(host.mountpoint, 'srv');
    await mkdir(srv);
    await writeFile(join(srv, 'keep.txt'), 'user data');
    await exec(['btrfs', 'subvolume', 'create', join(srv, 'mine')]);
    const users = await subvolumesOf(host.mountpoint);

    const rec = await btrfsDriver.createPool({ exec, dataDir }, { name: 'onpath', path: srv });
    assert.deepEqual(rec.source, { kind: 'path', path: srv });
    assert.equal(rec.mountpoint, join(srv, 'cellblock-onpath'));
    assert.equal(rec.mountedByUs, false);
    const d = await btrfsDriver.open({ exec, dataDir }, rec);
    await d.createDataset('data/app');
    await writeFile(join(d.datasetPath('data/app'), 'f'), 'x');
    await d.createSnapshot({ dataset: 'data/app', snapshot: 's1' });
    await d.clone({ dataset: 'data/app', snapshot: 's1' }, 'data/app/nested');
    assert.deepEqual((await d.listDatasets()).map((x) => x.name), ['data/app', 'data/app/nested']);
    assert.deepEqual((await d.listSnapshots()).map((x) => x.name), ['s1']);
    await assert.rejects(btrfsDriver.createPool({ exec, dataDir }, { name: 'onpath', path: srv }), ExistsError);

    await btrfsDriver.destroyPool({ exec, dataDir }, rec);
    assert.deepEqual((await readdir(srv)).sort(), ['keep.txt', 'mine']);
    assert.equal(await readFile(join(srv, 'keep.txt'), 'utf8'), 'user data');
    assert.deepEqual(await subvolumesOf(host.mountpoint), users);
    await btrfsDriver.destroyPool({ exec, dataDir }, rec); // again: nothing to do
    await assert.rejects(btrfsDriver.open({ exec, dataDir }, rec), NotFoundError);
  });

  test('--path must exist, be a directory and be on btrfs', async () => {
    const before = await stateOf(dataDir);
    await assert.rejects(btrfsDriver.createPool({ exec, dataDir }, { name: 'p', path: join(dataDir, 'nope') }), NotFoundError);
    await assert.rejects(btrfsDriver.createPool({ exec, dataDir }, { name: 'p', path: join(dataDir, 'pools', 'taken.img') }), /not a directory/);
    await assert.rejects(btrfsDriver.createPool({ exec, dataDir }, { name: 'p', path: dataDir }), (e: unknown) => e instanceof UserError && /not on a btrfs filesystem/.test(e.message));
    await assert.rejects(btrfsDriver.createPool({ exec, dataDir }, { name: 'p', path: host!.mountpoint, size: 256 * MiB }), /takes no size/);
    assert.deepEqual(await stateOf(dataDir), before);
  });
});
