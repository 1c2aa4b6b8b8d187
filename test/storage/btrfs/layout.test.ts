import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRelPath, datasetPath, snapshotPath, workName } from '../../../src/storage/btrfs/layout.js';
import { UserError } from '../../../src/sys/errors.js';

test('datasets and snapshots have paths that never collide', () => {
  assert.equal(datasetPath('/p', 'data/app'), '/p/data/app');
  assert.equal(snapshotPath('/p', { dataset: 'data/app', snapshot: 's1' }), '/p/.snapshots/data/app@s1');
  assert.equal(snapshotPath('/p', { dataset: 'a', snapshot: 'b' }), '/p/.snapshots/a@b');
  // dataset a/b's snapshots live in a plain directory next to a@b
  assert.equal(snapshotPath('/p', { dataset: 'a/b', snapshot: 'c' }), '/p/.snapshots/a/b@c');
});

test('names are checked before they become paths', () => {
  for (const ds of ['../etc', 'a/../../x', '.snapshots', 'A', '']) assert.throws(() => datasetPath('/p', ds), UserError, ds);
  assert.throws(() => snapshotPath('/p', { dataset: '../x', snapshot: 's' }), UserError);
});

test('subvolumes found in a pool are told apart by their relative path', () => {
  assert.deepEqual(classifyRelPath('data/app'), { kind: 'dataset', dataset: 'data/app' });
  assert.deepEqual(classifyRelPath('.snapshots/data/app@s1'), { kind: 'snapshot', ref: { dataset: 'data/app', snapshot: 's1' } });
  assert.deepEqual(classifyRelPath('.snapshots/a@b'), { kind: 'snapshot', ref: { dataset: 'a', snapshot: 'b' } });
  for (const rel of ['.snapshots/data/.incoming-0a1b', 'data/.rollback-0a1b', '.old-ff', '.snapshots', '.snapshots/x', '.snapshots/a@b@c', 'Foreign', 'a b', '.snapshots/@s']) {
    assert.equal(classifyRelPath(rel), undefined, rel);
  }
});

test('work names are hidden and unique', () => {
  const a = workName('incoming');
  assert.match(a, /^\.incoming-[0-9a-f]{16}$/);
  assert.notEqual(a, workName('incoming'));
});
