import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as argv from '../../../src/storage/btrfs/argv.js';

test('subvolume commands', () => {
  assert.deepEqual(argv.subvolumeCreate('/p/data/app'), ['btrfs', 'subvolume', 'create', '/p/data/app']);
  assert.deepEqual(argv.subvolumeSnapshot('/p/a', '/p/.snapshots/a@s1', { readonly: true }), ['btrfs', 'subvolume', 'snapshot', '-r', '/p/a', '/p/.snapshots/a@s1']);
  assert.deepEqual(argv.subvolumeSnapshot('/p/.snapshots/a@s1', '/p/b'), ['btrfs', 'subvolume', 'snapshot', '/p/.snapshots/a@s1', '/p/b']);
  assert.deepEqual(argv.subvolumeSnapshot('/p/a', '/p/b', { readonly: false }), ['btrfs', 'subvolume', 'snapshot', '/p/a', '/p/b']);
  assert.deepEqual(argv.subvolumeDelete(['/p/a', '/p/b']), ['btrfs', 'subvolume', 'delete', '/p/a', '/p/b']);
  assert.deepEqual(argv.subvolumeDelete(['/p/a'], { commit: true }), ['btrfs', 'subvolume', 'delete', '--commit-after', '/p/a']);
  assert.throws(() => argv.subvolumeDelete([]), /no paths/);
  assert.deepEqual(argv.subvolumeShow('/p/a'), ['btrfs', 'subvolume', 'show', '/p/a']);
  assert.deepEqual(argv.subvolumeList('/p'), ['btrfs', 'subvolume', 'list', '-a', '-q', '-u', '/p']);
  assert.deepEqual(argv.filesystemDu('/p/a'), ['btrfs', 'filesystem', 'du', '-s', '--raw', '/p/a']);
});

test('send and receive drop unset flags', () => {
  assert.deepEqual(argv.send('/p/.snapshots/a@s2'), ['btrfs', 'send', '/p/.snapshots/a@s2']);
  assert.deepEqual(argv.send('/p/.snapshots/a@s2', { quiet: true }), ['btrfs', 'send', '-q', '/p/.snapshots/a@s2']);
  assert.deepEqual(argv.send('/p/.snapshots/a@s2', { parent: '/p/.snapshots/a@s1', quiet: true }), ['btrfs', 'send', '-q', '-p', '/p/.snapshots/a@s1', '/p/.snapshots/a@s2']);
  assert.deepEqual(argv.send('/p/s', { parent: undefined, quiet: false }), ['btrfs', 'send', '/p/s']);
  assert.deepEqual(argv.receive('/p/.snapshots'), ['btrfs', 'receive', '/p/.snapshots']);
  assert.deepEqual(argv.receive('/p/.snapshots', { endMarker: true }), ['btrfs', 'receive', '-e', '/p/.snapshots']);
});

test('mkfs, losetup, mount, umount', () => {
  assert.deepEqual(argv.mkfsBtrfs('/dev/loop3', { label: 'cellblock-default', quiet: true }), ['mkfs.btrfs', '-q', '-L', 'cellblock-default', '/dev/loop3']);
  assert.deepEqual(argv.mkfsBtrfs('/dev/loop3'), ['mkfs.btrfs', '/dev/loop3']);
  assert.deepEqual(argv.losetupAttach('/d/pools/x.img'), ['losetup', '--find', '--show', '/d/pools/x.img']);
  assert.deepEqual(argv.losetupAssociated('/d/pools/x.img'), ['losetup', '-j', '/d/pools/x.img']);
  assert.deepEqual(argv.losetupAssociated('/d/pools/x.img', { json: true }), ['losetup', '--list', '--json', '-j', '/d/pools/x.img']);
  assert.deepEqual(argv.losetupDetach('/dev/loop3'), ['losetup', '-d', '/dev/loop3']);
  assert.deepEqual(argv.mount('/dev/loop3', '/d/pools/x'), ['mount', '/dev/loop3', '/d/pools/x']);
  assert.deepEqual(argv.mount('/dev/loop3', '/d/pools/x', { type: 'btrfs' }), ['mount', '-t', 'btrfs', '/dev/loop3', '/d/pools/x']);
  assert.deepEqual(argv.mount('/dev/loop3', '/d/x', { type: 'btrfs', options: ['noatime', 'compress=zstd'] }), ['mount', '-t', 'btrfs', '-o', 'noatime,compress=zstd', '/dev/loop3', '/d/x']);
  assert.deepEqual(argv.mount('/dev/loop3', '/d/x', { options: [] }), ['mount', '/dev/loop3', '/d/x']);
  assert.deepEqual(argv.umount('/d/pools/x'), ['umount', '/d/pools/x']);
});

test('paths with spaces and dashes stay single arguments', () => {
  assert.deepEqual(argv.subvolumeCreate('/my pools/-x'), ['btrfs', 'subvolume', 'create', '/my pools/-x']);
});

test('quota groups: enable, limit a subvolume\'s referenced size, show one group', () => {
  assert.deepEqual(argv.quotaEnable('/d/pools/x'), ['btrfs', 'quota', 'enable', '/d/pools/x']);
  assert.deepEqual(argv.qgroupLimit(1073741824, '/d/pools/x/jails/web'), ['btrfs', 'qgroup', 'limit', '1073741824', '/d/pools/x/jails/web']);
  assert.deepEqual(argv.qgroupLimit('none', '/d/pools/x/jails/web'), ['btrfs', 'qgroup', 'limit', 'none', '/d/pools/x/jails/web']);
  assert.deepEqual(argv.qgroupShow('/d/pools/x/jails/web'), ['btrfs', 'qgroup', 'show', '-r', '-f', '--raw', '/d/pools/x/jails/web']);
});
