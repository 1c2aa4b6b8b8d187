import { test } from 'node:test';
import assert from 'node:assert/strict';
import { btrfsDriver } from '../../../src/storage/btrfs/index.js';
import { requireTools } from '../../../src/storage/tools.js';

const checkTools = (has: (tool: string) => Promise<boolean>) => requireTools('btrfs', btrfsDriver.tools, has);
import { UserError } from '../../../src/sys/errors.js';

test('the factory says what btrfs can do and which tools it needs', () => {
  assert.deepEqual(btrfsDriver.info, {
    name: 'btrfs',
    copyOnWrite: true,
    incrementalSend: true,
    streamFormat: 'btrfs-send',
    snapshotsOutliveDataset: true,
    note: 'copy-on-write: snapshots and clones are instant and share blocks',
    diskLimit: 'referenced',
    diskLimitNote: 'btrfs enforces a disk limit with a quota group on the dataset (its referenced size)',
  });
  assert.deepEqual(btrfsDriver.tools.map((t) => `${t.tool}:${t.pkg}`), ['btrfs:btrfs-progs', 'mkfs.btrfs:btrfs-progs', 'losetup:mount', 'mount:mount', 'umount:mount']);
});

test('a missing tool is named with the package that provides it', async () => {
  const asked: string[] = [];
  await assert.rejects(
    checkTools(async (t) => { asked.push(t); return t !== 'mkfs.btrfs'; }),
    (e: unknown) => e instanceof UserError && /mkfs\.btrfs is not installed/.test(e.message) && /apt-get install btrfs-progs/.test(e.fix ?? ''),
  );
  assert.deepEqual(asked, ['btrfs', 'mkfs.btrfs']);
  await assert.rejects(checkTools(async (t) => t !== 'losetup'), (e: unknown) => e instanceof UserError && /losetup/.test(e.message) && /apt-get install mount/.test(e.fix ?? ''));
  await checkTools(async () => true);
});
