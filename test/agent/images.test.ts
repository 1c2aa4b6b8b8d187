import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newestSharedAncestor } from '../../src/agent/images.js';
import { writeImage, type ImageRecord } from '../../src/storage/images/store.js';

let dir = '';
const rec = (name: string, tag: string, parent: [string, string] | null): ImageRecord => ({
  name, tag, pool: 'default', parent: parent ? { name: parent[0], tag: parent[1] } : null, createdAt: '2026-12-01T00:00:00Z', origin: 'build',
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cb-images-'));
  // base:1 <- site:v1 <- site:v2 <- site:v3
  for (const r of [rec('base', '1', null), rec('site', 'v1', ['base', '1']), rec('site', 'v2', ['site', 'v1']), rec('site', 'v3', ['site', 'v2'])]) await writeImage(dir, r);
});
after(async () => { await rm(dir, { recursive: true, force: true }); });

test('the stream is incremental against the newest ancestor the receiver has', async () => {
  const v3 = rec('site', 'v3', ['site', 'v2']);
  assert.deepEqual(await newestSharedAncestor(dir, v3, new Set(['site:v1', 'site:v2'])), { name: 'site', tag: 'v2' });
  assert.deepEqual(await newestSharedAncestor(dir, v3, new Set(['site:v1'])), { name: 'site', tag: 'v1' });
  assert.deepEqual(await newestSharedAncestor(dir, v3, new Set(['base:1'])), { name: 'base', tag: '1' }, 'across image names');
});

test('no shared ancestor (or only unrelated images): a full stream', async () => {
  const v3 = rec('site', 'v3', ['site', 'v2']);
  assert.equal(await newestSharedAncestor(dir, v3, new Set()), undefined);
  assert.equal(await newestSharedAncestor(dir, v3, new Set(['other:1', 'site:v3'])), undefined, 'the image itself is not its own parent');
});

test('a parent cycle in damaged records ends instead of looping', async () => {
  await writeImage(dir, rec('loop', 'a', ['loop', 'b']));
  await writeImage(dir, rec('loop', 'b', ['loop', 'a']));
  assert.equal(await newestSharedAncestor(dir, rec('loop', 'a', ['loop', 'b']), new Set(['x:1'])), undefined);
});
