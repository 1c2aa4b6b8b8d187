import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkName, checkDataset, parseImageRef, parseSnapshotRef } from '../../src/sys/names.js';
import { UserError } from '../../src/sys/errors.js';

test('checkName accepts simple names', () => {
  for (const n of ['a', 'site', 'web-1', 'db_main', 'v1.2.3', '0abc', 'x'.repeat(63)]) assert.equal(checkName('image', n), n);
});

test('checkName refuses names that could reach a path or an option', () => {
  for (const n of ['', 'A', 'Site', '-rf', '.hidden', '_x', 'a/b', '../etc', 'a..b', 'a b', 'a@b', 'a:b', 'x'.repeat(64), 'é', 'a\nb']) {
    assert.throws(() => checkName('image', n), (e: unknown) => e instanceof UserError && /image name/.test(e.message) && Boolean(e.fix), n);
  }
});

test('parseImageRef splits NAME:TAG and names the field on error', () => {
  assert.deepEqual(parseImageRef('site:v1'), { name: 'site', tag: 'v1' });
  assert.deepEqual(parseImageRef('site', 'image', 'latest'), { name: 'site', tag: 'latest' });
  assert.throws(() => parseImageRef('site'), /expected NAME:TAG/);
  assert.throws(() => parseImageRef('site:v1:x'), /expected NAME:TAG/);
  assert.throws(() => parseImageRef('Site:v1', '--from'), /--from: invalid image name "Site"/);
  assert.throws(() => parseImageRef('site:../x'), /invalid tag name/);
});

test('checkDataset checks every segment', () => {
  assert.equal(checkDataset('images/site/v1'), 'images/site/v1');
  for (const d of ['', '/abs', 'a//b', 'a/../b', 'a/', 'A/b', 'a/b c']) assert.throws(() => checkDataset(d), UserError, d);
  assert.throws(() => checkDataset('a/b/c/d/e/f/g/h/i'), /nested too deeply/);
});

test('parseSnapshotRef parses dataset@name', () => {
  assert.deepEqual(parseSnapshotRef('data/app@before'), { dataset: 'data/app', snapshot: 'before' });
  for (const s of ['data/app', 'data@a@b', '@x', 'data@', 'data@X']) assert.throws(() => parseSnapshotRef(s), UserError, s);
});
