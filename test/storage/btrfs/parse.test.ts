// Parsers on output captured from btrfs-progs 6.2 and util-linux 2.38.1 (Debian 12) in test/fixtures/btrfs/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as parse from '../../../src/storage/btrfs/parse.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/btrfs/', import.meta.url));
const fixture = (name: string) => readFileSync(FIXTURES + name, 'utf8');

test('losetup --list --json -j FILE', () => {
  assert.deepEqual(parse.parseLosetupJson(fixture('losetup-list-json.txt')), [{ device: '/dev/loop0', backFile: '/tmp/cap-ttzN/pool a.img' }]);
  // no device for the file: an empty list (captured: `{\n   "loopdevices": [\n\n   ]\n}`), or nothing at all
  assert.deepEqual(parse.parseLosetupJson('{\n   "loopdevices": [\n\n   ]\n}\n'), []);
  assert.deepEqual(parse.parseLosetupJson(''), []);
});

test('losetup -j FILE', () => {
  assert.deepEqual(parse.parseLosetupAssociated(fixture('losetup-j.txt')), [{ device: '/dev/loop0', backFile: '/tmp/cap-ttzN/pool a.img' }]);
  assert.deepEqual(parse.parseLosetupAssociated(''), []);
});

test('btrfs filesystem du -s --raw', () => {
  assert.deepEqual(parse.parseFilesystemDu(fixture('filesystem-du-raw.txt')), [
    { total: 4194304, exclusive: 0, setShared: 4194304, path: 'app' },
    { total: 3145728, exclusive: 0, setShared: 3145728, path: '.snapshots/app@s1' },
    { total: 4194304, exclusive: 0, setShared: 4194304, path: '.snapshots/app@s2' },
    { total: 0, exclusive: 0, setShared: 0, path: 'data/db' },
  ]);
  assert.deepEqual(parse.parseFilesystemDu('     Total   Exclusive  Set shared  Filename\n   1048576     1048576           -  x y\n'), [
    { total: 1048576, exclusive: 1048576, setShared: 0, path: 'x y' },
  ]);
});

test('btrfs subvolume show of a snapshot, the top level and a received subvolume', () => {
  assert.deepEqual(parse.parseSubvolumeShow(fixture('subvolume-show-snapshot.txt')), {
    path: '.snapshots/app@s1',
    name: 'app@s1',
    uuid: 'a9885d0d-4447-164e-ad38-dd5cd3226821',
    parentUuid: 'b16d7226-82e6-d64e-b1d3-0e5fbc59197e',
    receivedUuid: undefined,
    createdAt: '2026-11-25T06:32:22.000Z',
    id: 258,
    readonly: true,
  });
  const top = parse.parseSubvolumeShow(fixture('subvolume-show-top.txt'));
  assert.equal(top.path, '');
  assert.equal(top.name, '<FS_TREE>');
  assert.equal(top.id, 5);
  assert.equal(top.readonly, false);
  assert.equal(top.parentUuid, undefined);
  const rcv = parse.parseSubvolumeShow(fixture('subvolume-show-received.txt'));
  assert.equal(rcv.path, '.incoming/db@nightly');
  assert.equal(rcv.receivedUuid, '971b822a-ce1f-a245-a8fc-83a156964f4b');
  assert.equal(rcv.parentUuid, undefined);
  assert.equal(rcv.readonly, true);
  assert.throws(() => parse.parseSubvolumeShow('ERROR: Not a Btrfs subvolume: Invalid argument\n'), /unexpected output/);
});

test('btrfs times with an offset become UTC ISO strings', () => {
  assert.equal(parse.parseBtrfsTime('2026-11-25 06:32:22 +0000'), '2026-11-25T06:32:22.000Z');
  assert.equal(parse.parseBtrfsTime('2026-11-25 08:32:22 +0200'), '2026-11-25T06:32:22.000Z');
  assert.equal(parse.parseBtrfsTime('-'), undefined);
});

test('btrfs subvolume list -a -q -u: every path from the top level, listed from a path pool root or the top', () => {
  const fromRoot = parse.parseSubvolumeList(fixture('subvolume-list-a-pathpool.txt'));
  const fromTop = parse.parseSubvolumeList(fixture('subvolume-list-a-top.txt'));
  assert.deepEqual(fromRoot, fromTop, 'the same whichever path is listed');
  assert.deepEqual(fromRoot.map((s) => s.path), [
    'srv/cellblock-x',
    'srv/cellblock-x/a',
    'srv/cellblock-x/d/e',
    'srv/cellblock-x/a/b',
    'srv/cellblock-x/.snapshots/d/e@s',
    'srv/cellblock-x/d/clone',
    'other',
  ]);
  assert.deepEqual(fromRoot[0], { id: 256, topLevel: 5, parentUuid: undefined, uuid: 'bc2c2036-861e-b34f-89ac-04f79b81d8e7', path: 'srv/cellblock-x' });
  assert.deepEqual(fromRoot[5], { id: 261, topLevel: 256, parentUuid: '42f0df8b-00bf-a74c-97ac-b7378bb24c6c', uuid: '750f24cb-c5a4-e44e-8bd7-757d7ad5e881', path: 'srv/cellblock-x/d/clone' });
  // the root's own path, to strip from the list
  assert.equal(parse.parseSubvolumeShow(fixture('subvolume-show-pathpool-root.txt')).path, 'srv/cellblock-x');
  // plain `btrfs subvolume list` lines (same version) parse too
  assert.deepEqual(parse.parseSubvolumeList('ID 261 gen 10 top level 256 path a/nested\n'), [{ id: 261, topLevel: 256, parentUuid: undefined, uuid: undefined, path: 'a/nested' }]);
  assert.deepEqual(parse.parseSubvolumeList(''), []);
});

test('/proc/self/mounts with an escaped space', () => {
  assert.deepEqual(parse.parseMounts(fixture('proc-mounts.txt')), [
    { source: '/dev/loop0', target: '/tmp/cap-ttzN/mnt x', fstype: 'btrfs', options: ['rw', 'relatime', 'discard=async', 'space_cache=v2', 'subvolid=5', 'subvol=/'] },
  ]);
});

test('parseQgroupShow reads btrfs-progs 6.2 output of qgroup show -r -f --raw', () => {
  const limited = [
    'Qgroupid    Referenced    Exclusive  Max referenced   Path ',
    '--------    ----------    ---------  --------------   ---- ',
    '0/256            16384        16384        50000000   a',
    '',
  ].join('\n');
  assert.deepEqual(parse.parseQgroupShow(limited), [{ qgroupid: '0/256', referenced: 16384, exclusive: 16384, maxReferenced: 50000000 }]);
  const none = 'Qgroupid    Referenced    Exclusive  Max referenced   Path \n--------    ----------    ---------  --------------   ---- \n0/257         52412416     52412416            none   jails/web\n';
  assert.deepEqual(parse.parseQgroupShow(none), [{ qgroupid: '0/257', referenced: 52412416, exclusive: 52412416, maxReferenced: null }]);
  assert.deepEqual(parse.parseQgroupShow(''), []);
});
