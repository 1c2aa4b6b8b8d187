import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError } from '../../../src/sys/errors.js';
import { classify, run } from '../../../src/storage/btrfs/classify.js';

// stderr as btrfs-progs 6.2 and util-linux 2.38.1 print it (captured on Debian 12)
const cases: [string[], number, string, string][] = [
  [['btrfs', 'subvolume', 'create', 'mnt/a'], 1, 'ERROR: target path already exists: mnt/a\n', 'exists'],
  [['btrfs', 'receive', '-e', 'd'], 1, 'ERROR: creating subvolume a@s1 failed: File exists\n', 'exists'],
  [['btrfs', 'subvolume', 'delete', 'mnt/nope'], 1, 'ERROR: Could not statfs: No such file or directory\n', 'not-found'],
  [['btrfs', 'send', 'mnt/nope'], 1, 'ERROR: unable to resolve mnt/nope\n', 'not-found'],
  [['btrfs', 'receive', '-e', 'd'], 1, 'At snapshot a@s2\nERROR: cannot find parent subvolume\n', 'not-found'],
  [['btrfs', 'subvolume', 'delete', 'mnt/a'], 1, 'ERROR: Could not destroy subvolume/snapshot: Directory not empty\n', 'busy'],
  [['umount', '/x/bm'], 32, 'umount: /x/bm: target is busy.\n', 'busy'],
  [['umount', 'bm'], 32, 'umount: bm: not mounted.\n', 'not-found'],
  [['losetup', '-d', '/dev/loop5'], 1, 'losetup: /dev/loop5: detach failed: No such device or address\n', 'not-found'],
  [['btrfs', 'receive', '-e', 'd'], 1, 'At subvol a@s1\nERROR: crc32 mismatch in command\n', 'failed'],
  [['mount', '/dev/loop5', 'bm'], 32, "mount: /x/bm: can't read superblock on /dev/loop5.\n", 'failed'],
];

test('failures are classified by tool, exit code and stderr', () => {
  for (const [argv, code, stderr, kind] of cases) assert.equal(classify(new ExecError(argv, code, stderr)).kind, kind, stderr);
});

test('only plain failures are classified', () => {
  assert.equal(classify(new ExecError(['btrfs', 'send', 'x'], null, 'No such file or directory', 'aborted')).kind, 'aborted');
  assert.equal(classify(new ExecError(['btrfs', 'send', 'x'], null, 'No such file or directory', 'failed', 'SIGKILL')).kind, 'failed');
  // a rule bound to one tool does not apply to another
  assert.equal(classify(new ExecError(['mount', 'a', 'b'], 32, 'mount: b: not mounted.')).kind, 'failed');
});

test('run classifies what the injected exec throws', async () => {
  const exec = async (argv: readonly string[]) => { throw new ExecError(argv, 1, 'ERROR: target path already exists: x'); };
  await assert.rejects(run(exec, ['btrfs', 'subvolume', 'create', 'x']), (e: unknown) => e instanceof ExecError && e.kind === 'exists');
  const ok = async () => ({ stdout: 'fine', stderr: '', code: 0 });
  assert.equal((await run(ok, ['btrfs'])).stdout, 'fine');
});
