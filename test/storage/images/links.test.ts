import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { breakLinks, linkedFilesArgv, linksToBreak, parseLinkedFiles } from '../../../src/storage/images/links.js';

test('find lists multiply-linked regular files as DEV INODE PATH records ending in NUL', () => {
  assert.deepEqual(linkedFilesArgv('/pool/images/site/v2'), ['find', '/pool/images/site/v2', '-type', 'f', '-links', '+1', '-printf', '%D %i %P\\0']);
});

test('records are grouped by device and inode; names with spaces and newlines survive', () => {
  const out = '44 257 b\u000044 300 dir/x y\u000044 257 a\u000045 257 other\u000044 300 n\nl\u0000';
  assert.deepEqual(parseLinkedFiles(out), [['a', 'b'], ['dir/x y', 'n\nl'], ['other']]);
  assert.deepEqual(parseLinkedFiles(''), []);
});

test('a clone group inside one source group is kept: all its names get the new content', () => {
  assert.deepEqual(linksToBreak([['a', 'b']], [['a', 'b']]), []);
  assert.deepEqual(linksToBreak([['a', 'b']], [['a', 'b', 'c']]), [], 'a third name joins the group');
});

test('a clone group split, moved or gone in the source is broken, every name of it', () => {
  assert.deepEqual(linksToBreak([['a', 'b']], []), ['a', 'b'], 'the link is broken in the source');
  assert.deepEqual(linksToBreak([['a', 'b']], [['a', 'c']]), ['a', 'b'], 'b left the group');
  assert.deepEqual(linksToBreak([['a', 'b']], [['a'], ['b']]), ['a', 'b'], 'two groups');
  assert.deepEqual(linksToBreak([['x', 'y'], ['a', 'b']], [['a', 'b']]), ['x', 'y']);
});

test('breakLinks gives each name its own inode with the same bytes, and leaves the other names alone', async () => {
  const d = await mkdtemp(join(tmpdir(), 'cellblock-links-'));
  try {
    await mkdir(join(d, 'sub'));
    await writeFile(join(d, 'a'), 'one');
    await chmod(join(d, 'a'), 0o640);
    await link(join(d, 'a'), join(d, 'sub', 'b'));
    await link(join(d, 'a'), join(d, 'c'));
    await breakLinks(d, ['sub/b']);
    const [a, b, c] = await Promise.all(['a', 'sub/b', 'c'].map((n) => stat(join(d, n))));
    assert.notEqual(b!.ino, a!.ino);
    assert.equal(a!.ino, c!.ino);
    assert.deepEqual([a!.nlink, b!.nlink], [2, 1]);
    assert.equal(await readFile(join(d, 'sub', 'b'), 'utf8'), 'one');
    await writeFile(join(d, 'sub', 'b'), 'two');
    assert.equal(await readFile(join(d, 'a'), 'utf8'), 'one');
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});
