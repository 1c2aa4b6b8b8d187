import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseList, splitSnapshotName, ZfsParseError } from '../../../src/storage/zfs/parse.js';
import * as layout from '../../../src/storage/zfs/layout.js';

// `zfs list -H -p -o name,used,referenced,creation,origin -t filesystem,snapshot -r tank/cellblock-default`
// as OpenZFS 2.1 prints it (zfs-list(8): -H no header, one tab between fields; -p exact numbers,
// creation in seconds since the epoch; "-" for no origin).
const LIST = [
  'tank/cellblock-default\t2859008\t98304\t1700000000\t-',
  'tank/cellblock-default/images\t1064960\t98304\t1700000100\t-',
  'tank/cellblock-default/images/site\t966656\t98304\t1700000100\t-',
  'tank/cellblock-default/images/site/v1\t471040\t405504\t1700000100\t-',
  'tank/cellblock-default/images/site/v1@image\t65536\t405504\t1700000160\t-',
  'tank/cellblock-default/images/site/v2\t397312\t446464\t1700000200\ttank/cellblock-default/images/site/v1@image',
  'tank/cellblock-default/images/site/v2@image\t0\t446464\t1700000230\t-',
  'tank/cellblock-default/jails/web1\t8192\t446464\t1700000300\ttank/cellblock-default/images/site/v2@image',
  '',
].join('\n');

test('parses zfs list -H -p rows into typed fields', () => {
  const rows = parseList(LIST, ['name', 'used', 'referenced', 'creation', 'origin']);
  assert.equal(rows.length, 8);
  assert.deepEqual(rows[0], { name: 'tank/cellblock-default', used: 2859008, referenced: 98304, creation: 1700000000, user: {} });
  assert.deepEqual(rows[4], { name: 'tank/cellblock-default/images/site/v1@image', used: 65536, referenced: 405504, creation: 1700000160, user: {} });
  assert.deepEqual(rows[7], {
    name: 'tank/cellblock-default/jails/web1', used: 8192, referenced: 446464, creation: 1700000300,
    origin: 'tank/cellblock-default/images/site/v2@image', user: {},
  });
});

test('user properties, yes/no and on/off columns, "-" for unset', () => {
  const cols = ['name', 'cellblock:dataset', 'readonly', 'mounted', 'mountpoint', 'canmount', 'usedbydataset', 'createtxg'];
  const out = [
    'tank/cb\t-\toff\tyes\t/tank/cb\ton\t98304\t12',
    'tank/cb/images\t-\toff\tyes\t/tank/cb/images\ton\t98304\t40',
    'tank/cb/images/site/v1\timages/site/v1\ton\tno\t/tank/cb/images/site/v1\tnoauto\t405504\t57',
    'tank/cb/images/site/v1@image\t-\t-\t-\t-\t-\t-\t58',
  ].join('\n') + '\n';
  assert.deepEqual(parseList(out, cols), [
    { name: 'tank/cb', readonly: false, mounted: true, mountpoint: '/tank/cb', canmount: 'on', usedbydataset: 98304, createtxg: 12, user: {} },
    { name: 'tank/cb/images', readonly: false, mounted: true, mountpoint: '/tank/cb/images', canmount: 'on', usedbydataset: 98304, createtxg: 40, user: {} },
    { name: 'tank/cb/images/site/v1', readonly: true, mounted: false, mountpoint: '/tank/cb/images/site/v1', canmount: 'noauto', usedbydataset: 405504, createtxg: 57, user: { 'cellblock:dataset': 'images/site/v1' } },
    { name: 'tank/cb/images/site/v1@image', createtxg: 58, user: {} },
  ]);
  assert.deepEqual(parseList('', ['name']), []);
});

test('refuses output that does not match the columns', () => {
  assert.throws(() => parseList('tank/cb\t1\n', ['name', 'used', 'referenced']), ZfsParseError);
  assert.throws(() => parseList('tank/cb\t1.5G\n', ['name', 'used']), /used is not a whole number/);
  assert.throws(() => parseList('tank/cb\tmaybe\n', ['name', 'mounted']), /neither yes nor no/);
  assert.throws(() => parseList('tank/cb\t1\n', ['name', 'bogus']), /unknown column bogus/);
  assert.throws(() => parseList('tank/cb\t1\n', ['used', 'name']), /first column must be name/);
});

test('snapshot names and names relative to the pool root', () => {
  assert.deepEqual(splitSnapshotName('tank/cb/a@s'), { dataset: 'tank/cb/a', snapshot: 's' });
  assert.equal(splitSnapshotName('tank/cb/a'), undefined);
  assert.equal(splitSnapshotName('tank/cb/a@'), undefined);
  const root = 'tank/cellblock-default';
  assert.equal(layout.relativeDataset(root, 'tank/cellblock-default/images/site/v1'), 'images/site/v1');
  assert.equal(layout.relativeDataset(root, 'tank/cellblock-default'), undefined);
  assert.equal(layout.relativeDataset(root, 'tank/cellblock-defaultx/a'), undefined);
  assert.equal(layout.relativeDataset(root, 'tank/cellblock-default/Upper'), undefined);
  assert.deepEqual(layout.relativeSnapshot(root, 'tank/cellblock-default/images/site/v1@image'), { dataset: 'images/site/v1', snapshot: 'image' });
  assert.equal(layout.relativeSnapshot(root, 'tank/other/a@image'), undefined);
  assert.equal(layout.relativeSnapshot(root, 'tank/cellblock-default/a@Weird'), undefined);
  assert.equal(layout.fullSnapshot(root, { dataset: 'a/b', snapshot: 's' }), 'tank/cellblock-default/a/b@s');
  assert.equal(layout.snapshotPath('/tank/cellblock-default', { dataset: 'a/b', snapshot: 's' }), '/tank/cellblock-default/a/b/.zfs/snapshot/s');
  assert.equal(layout.rootName('tank/cellblock', 'default'), 'tank/cellblock/cellblock-default');
  assert.deepEqual(layout.ancestorsDeepestFirst('a/b/c'), ['a/b', 'a']);
  for (const bad of ['-rf', 'tank//x', '/tank', 'tank/..', 'tank@s', 'tank/x y', '']) assert.throws(() => layout.checkZfsName('--path', bad), /invalid zfs dataset name/, bad);
  assert.equal(layout.checkZfsName('--path', 'rpool/data:x.y_z-1'), 'rpool/data:x.y_z-1');
});
