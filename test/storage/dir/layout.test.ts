import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as argv from '../../../src/storage/dir/argv.js';
import * as layout from '../../../src/storage/dir/layout.js';
import { UserError } from '../../../src/sys/errors.js';

test('argv builders', () => {
  assert.deepEqual(argv.copyTree('/p/a', '/p/.work/x'), ['cp', '-a', '--reflink=auto', '--no-target-directory', '/p/a', '/p/.work/x']);
  assert.deepEqual(argv.tarCreate('/p/.snapshots/a@s'), ['tar', '--create', '--file=-', '--directory=/p/.snapshots/a@s', '--sparse', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '.']);
  assert.deepEqual(argv.tarExtract('/p/.work/x'), ['tar', '--extract', '--file=-', '--directory=/p/.work/x', '--preserve-permissions', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls']);
  assert.deepEqual(argv.chattrImmutable(true, ['/p/s']), ['chattr', '+i', '/p/s']);
  assert.deepEqual(argv.chattrImmutable(false, ['/p/s'], { recursive: true }), ['chattr', '-R', '-i', '/p/s']);
});

test('paths of datasets, snapshots and their records', () => {
  assert.equal(layout.datasetPath('/p', 'images/site/v1'), '/p/images/site/v1');
  assert.equal(layout.snapshotPath('/p', { dataset: 'images/site/v1', snapshot: 'image' }), '/p/.snapshots/images/site/v1@image');
  assert.equal(layout.datasetMetaPath('/p', 'a/b'), '/p/.meta/a/b@.json');
  assert.equal(layout.snapshotMetaPath('/p', { dataset: 'a/b', snapshot: 's.json' }), '/p/.meta/a/b@s.json.json');
  assert.deepEqual(layout.ancestors('a/b/c'), ['a', 'a/b']);
  assert.deepEqual(layout.ancestors('a'), []);
  assert.throws(() => layout.datasetPath('/p', '../etc'), UserError);
  assert.throws(() => layout.snapshotPath('/p', { dataset: 'a', snapshot: '../x' }), UserError);
  assert.match(layout.workPath('/p'), /^\/p\/\.work\/[0-9a-f]{16}$/);
});

test('parseAtName reads record and snapshot names back, and nothing else', () => {
  assert.deepEqual(layout.parseAtName('a/b@.json', '.json'), { kind: 'dataset', dataset: 'a/b' });
  assert.deepEqual(layout.parseAtName('a/b@s1.json', '.json'), { kind: 'snapshot', ref: { dataset: 'a/b', snapshot: 's1' } });
  assert.deepEqual(layout.parseAtName('a/b@s.json.json', '.json'), { kind: 'snapshot', ref: { dataset: 'a/b', snapshot: 's.json' } });
  assert.deepEqual(layout.parseAtName('images/site/v1@image', ''), { kind: 'snapshot', ref: { dataset: 'images/site/v1', snapshot: 'image' } });
  for (const bad of ['a/b', 'a@', '@s', 'a@b@c', 'A@s', 'a@..x', 'a/.x@s', 'a@s.tmp']) {
    assert.equal(layout.parseAtName(bad, bad.endsWith('.tmp') ? '.json' : ''), undefined, bad);
  }
});
