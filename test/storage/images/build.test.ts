import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rsyncArgv } from '../../../src/storage/images/build.js';
import { imageDataset, imageSnapshot } from '../../../src/storage/images/store.js';

test('rsync copies the directory contents, deleting what is gone, comparing by checksum, writing changed blocks in place', () => {
  assert.deepEqual(rsyncArgv('examples/site/', '/pool/images/site/v1'), [
    'rsync', '--archive', '--hard-links', '--acls', '--xattrs', '--delete', '--checksum', '--inplace', '--no-whole-file', '--quiet',
    'examples/site/', '/pool/images/site/v1/',
  ]);
});

test('an image is the snapshot images/NAME/TAG@image', () => {
  assert.equal(imageDataset({ name: 'site', tag: 'v1' }), 'images/site/v1');
  assert.deepEqual(imageSnapshot({ name: 'site', tag: 'v1' }), { dataset: 'images/site/v1', snapshot: 'image' });
});
