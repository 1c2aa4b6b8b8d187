import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diskLimitChecks } from '../../src/storage/checks.js';

test('host check: a dir pool says plainly that it cannot enforce a disk limit; btrfs and zfs pools say how they do', () => {
  const rows = diskLimitChecks([{ name: 'default', driver: 'btrfs' }, { name: 'plain', driver: 'dir' }, { name: 'tank', driver: 'zfs' }]);
  assert.deepEqual(rows.map((r) => [r.name, r.kind, r.status, r.required]), [
    ['pool default', 'pool', 'present', false], ['pool plain', 'pool', 'warning', false], ['pool tank', 'pool', 'present', false],
  ]);
  assert.equal(rows[1]!.detail, 'the dir driver cannot enforce a disk limit: a jail on it can fill the file system; use a btrfs or zfs pool for limits');
  assert.match(rows[1]!.fix, /cellblock pool create NAME --size 20G/);
  assert.match(rows[0]!.detail, /^btrfs: disk limits enforced \(btrfs enforces a disk limit with a quota group/);
  assert.deepEqual(diskLimitChecks([]), []);
});

test('pool ls: allocated is the sum of the jails\' disk limits in each pool', async () => {
  const { allocatedByPool } = await import('../../src/cli/commands/pool/ls.js');
  const spec = (diskBytes?: number) => ({ ...(diskBytes !== undefined ? { diskBytes } : {}) }) as never;
  const m = allocatedByPool([{ pool: 'a', spec: spec(1024) }, { pool: 'a', spec: spec(2048) }, { pool: 'b', spec: spec() }]);
  assert.deepEqual([...m], [['a', 3072], ['b', 0]]);
});
