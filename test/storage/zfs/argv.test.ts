import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as argv from '../../../src/storage/zfs/argv.js';

test('create, destroy, snapshot, rollback, clone', () => {
  assert.deepEqual(argv.create('tank/cb/a/b'), ['zfs', 'create', 'tank/cb/a/b']);
  assert.deepEqual(argv.create('tank/cb/a/b', { parents: true, props: { 'cellblock:dataset': 'a/b' } }), ['zfs', 'create', '-p', '-o', 'cellblock:dataset=a/b', 'tank/cb/a/b']);
  assert.deepEqual(argv.create('tank/cellblock-p', { props: { 'cellblock:pool': 'p', 'cellblock:datadir': '/var/lib/cellblock' } }), ['zfs', 'create', '-o', 'cellblock:pool=p', '-o', 'cellblock:datadir=/var/lib/cellblock', 'tank/cellblock-p']);
  assert.deepEqual(argv.destroy('tank/cb/a'), ['zfs', 'destroy', 'tank/cb/a']);
  assert.deepEqual(argv.destroy('tank/cb/a', { recursive: true }), ['zfs', 'destroy', '-r', 'tank/cb/a']);
  assert.deepEqual(argv.destroy('tank/cb/a@s1'), ['zfs', 'destroy', 'tank/cb/a@s1']);
  assert.deepEqual(argv.snapshot('tank/cb/a@s1'), ['zfs', 'snapshot', 'tank/cb/a@s1']);
  assert.deepEqual(argv.rollback('tank/cb/a@s1'), ['zfs', 'rollback', 'tank/cb/a@s1']);
  assert.deepEqual(argv.clone('tank/cb/a@s1', 'tank/cb/b/c', { parents: true, props: { 'cellblock:dataset': 'b/c' } }), ['zfs', 'clone', '-p', '-o', 'cellblock:dataset=b/c', 'tank/cb/a@s1', 'tank/cb/b/c']);
  assert.deepEqual(argv.clone('tank/cb/a@s1', 'tank/cb/b'), ['zfs', 'clone', 'tank/cb/a@s1', 'tank/cb/b']);
});

test('list, get, set, inherit, mount', () => {
  assert.deepEqual(
    argv.list(['name', 'used', 'referenced', 'creation', 'origin'], { types: ['filesystem', 'snapshot'], recursive: true, name: 'tank/cb' }),
    ['zfs', 'list', '-H', '-p', '-o', 'name,used,referenced,creation,origin', '-t', 'filesystem,snapshot', '-r', 'tank/cb'],
  );
  assert.deepEqual(argv.list(['name', 'creation', 'createtxg'], { types: ['snapshot'], depth: 1, name: 'tank/cb/a' }), ['zfs', 'list', '-H', '-p', '-o', 'name,creation,createtxg', '-t', 'snapshot', '-d', '1', 'tank/cb/a']);
  assert.deepEqual(argv.list(['name'], { types: ['all'] }), ['zfs', 'list', '-H', '-p', '-o', 'name', '-t', 'all']);
  assert.deepEqual(argv.get('mountpoint', 'tank/cb'), ['zfs', 'get', '-H', '-p', '-o', 'value', 'mountpoint', 'tank/cb']);
  assert.deepEqual(argv.set('tank/cb/a', { readonly: 'on' }), ['zfs', 'set', 'readonly=on', 'tank/cb/a']);
  assert.deepEqual(argv.set('tank/cb/a', { readonly: 'off', 'cellblock:dataset': 'a' }), ['zfs', 'set', 'readonly=off', 'cellblock:dataset=a', 'tank/cb/a']);
  assert.deepEqual(argv.inherit('cellblock:dataset', 'tank/cb/a'), ['zfs', 'inherit', 'cellblock:dataset', 'tank/cb/a']);
  assert.deepEqual(argv.mount('tank/cb'), ['zfs', 'mount', 'tank/cb']);
});

test('send and receive', () => {
  assert.deepEqual(argv.send('tank/cb/a@s2'), ['zfs', 'send', 'tank/cb/a@s2']);
  assert.deepEqual(argv.send('tank/cb/a@s2', { parent: 'tank/cb/a@s1' }), ['zfs', 'send', '-i', 'tank/cb/a@s1', 'tank/cb/a@s2']);
  assert.deepEqual(argv.receive('tank/cb/a@s1'), ['zfs', 'receive', 'tank/cb/a@s1']);
  assert.deepEqual(
    argv.receive('tank/cb/a@s1', { unmounted: true, force: true, resumable: true, props: { 'cellblock:dataset': 'a' } }),
    ['zfs', 'receive', '-u', '-F', '-s', '-o', 'cellblock:dataset=a', 'tank/cb/a@s1'],
  );
  assert.deepEqual(argv.receiveAbort('tank/cb/a'), ['zfs', 'receive', '-A', 'tank/cb/a']);
});

test('zpool list', () => {
  assert.deepEqual(argv.zpoolList(), ['zpool', 'list', '-H', '-p', '-o', 'name,size,allocated,free,health']);
  assert.deepEqual(argv.zpoolList('tank'), ['zpool', 'list', '-H', '-p', '-o', 'name,size,allocated,free,health', 'tank']);
});

test('refquota: a limit on what the dataset itself refers to, or none', () => {
  assert.deepEqual(argv.refquota('tank/cb/cellblock-p/jails/web', 1073741824), ['zfs', 'set', 'refquota=1073741824', 'tank/cb/cellblock-p/jails/web']);
  assert.deepEqual(argv.refquota('tank/cb/cellblock-p/jails/web', null), ['zfs', 'set', 'refquota=none', 'tank/cb/cellblock-p/jails/web']);
});
