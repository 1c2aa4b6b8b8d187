import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeHost } from '../../src/jail/host.js';

async function fakeRoot(build: (r: string) => Promise<void>, check: (r: string) => Promise<void>): Promise<void> {
  const r = await mkdtemp(join(tmpdir(), 'cb-root-'));
  try {
    await mkdir(join(r, 'usr'));
    await build(r);
    await check(r);
  } finally {
    await rm(r, { recursive: true, force: true });
  }
}

test('merged /usr: every present OS dir is a symlink into usr/', async () => {
  await fakeRoot(async (r) => {
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) await symlink(`usr/${d}`, join(r, d));
  }, async (r) => {
    const h = await probeHost(r);
    assert.equal(h.usrMerged, true);
    assert.deepEqual(h.hostRootDirs, ['bin', 'sbin', 'lib', 'lib64']);
  });
});

test('split /usr: real directories are listed for read-only binds', async () => {
  await fakeRoot(async (r) => {
    for (const d of ['bin', 'sbin', 'lib']) await mkdir(join(r, d));
    await symlink('/usr/lib64', join(r, 'lib64'));
  }, async (r) => {
    const h = await probeHost(r);
    assert.equal(h.usrMerged, false);
    assert.deepEqual(h.hostRootDirs, ['bin', 'sbin', 'lib', 'lib64']);
  });
});

test('a symlink elsewhere does not count as merged', async () => {
  await fakeRoot(async (r) => {
    await symlink('opt/bin', join(r, 'bin'));
  }, async (r) => {
    const h = await probeHost(r);
    assert.equal(h.usrMerged, false);
    assert.deepEqual(h.hostRootDirs, []);
  });
});

test('this host answers without throwing', async () => {
  const h = await probeHost();
  assert.ok(h.cgroupVersion === 1 || h.cgroupVersion === 2);
  assert.ok(h.arch === 'x86_64' || h.arch === 'aarch64');
});
