// The real `cellblock pool` commands on btrfs loop pools (root only). Every refused command
// must change nothing: same files, mounts and loop devices.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../src/sys/exec.js';
import type { PoolRecord } from '../../src/storage/driver.js';
import { cleanupDataDir, loopDevicesUnder, mountsUnder, stateOf } from '../helpers/loop-pools.js';

const skip = process.getuid?.() !== 0 && 'needs root';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ANY = Array.from({ length: 256 }, (_, i) => i);

describe('cellblock pool', { skip }, () => {
  let dataDir: string;
  const cellblock = (...args: string[]) =>
    exec([process.execPath, `${ROOT}bin/cellblock`, '--data-dir', dataDir, ...args], { cwd: ROOT, timeoutMs: 120_000, okCodes: ANY });

  async function refused(args: string[], message: RegExp) {
    const before = await stateOf(dataDir);
    const r = await cellblock(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.match(r.stderr, /^ {2}fix: /m, `${args.join(' ')} says what to do`);
    assert.deepEqual(await stateOf(dataDir), before, `${args.join(' ')} changed nothing`);
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cellblock-cli-pool-'));
  });

  after(async () => {
    try {
      await cellblock('pool', 'destroy', 'q', '--yes');
      await cellblock('pool', 'destroy', 'p', '--yes');
    } finally {
      await cleanupDataDir(dataDir);
    }
  });

  test('pool create makes a loop pool and pool ls shows it', async () => {
    const r = await cellblock('pool', 'create', 'p', '--size', '512M');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^created pool p: btrfs on loop file .*p\.img \(512M, sparse\), mounted at .*pools\/p$/m);
    const ls = await cellblock('pool', 'ls');
    assert.match(ls.stdout, /^NAME\s+DRIVER\s+SOURCE\s+MOUNTPOINT\s+SIZE\s+ALLOCATED\s+USED\s+FREE\s+NOTE$/m);
    assert.match(ls.stdout, /^p\s+btrfs\s+loop .*p\.img\s+.*pools\/p\s+512M\s+0B\s+\S+\s+\S+\s+copy-on-write/m);
    const json = JSON.parse((await cellblock('--json', 'pool', 'ls')).stdout) as (PoolRecord & { size: number })[];
    assert.equal(json.length, 1);
    assert.equal(json[0]!.name, 'p');
    assert.equal(json[0]!.size, 512 * 1024 ** 2);
    const quota = await exec(['btrfs', 'qgroup', 'show', json[0]!.mountpoint]);
    assert.match(quota.stdout, /^0\/5\s/m, 'quota groups are on from the start');
    assert.deepEqual(json[0]!.source, { kind: 'loop', file: join(dataDir, 'pools', 'p.img'), size: 512 * 1024 ** 2 });
    assert.equal((await mountsUnder(dataDir)).length, 1);
  });

  test('bad input is refused with a fix and changes nothing', async () => {
    await refused(['pool', 'create', 'Bad', '--size', '512M'], /invalid pool name "Bad"/);
    await refused(['pool', 'create', '../x', '--size', '512M'], /invalid pool name/);
    await refused(['pool', 'create', 'q', '--size', '12Q'], /--size: invalid size "12Q"/);
    await refused(['pool', 'create', 'q', '--size', '10M'], /--size: "10M" is too small/);
    await refused(['pool', 'create', 'p', '--size', '512M'], /pool p already exists/);
    await refused(['pool', 'destroy', 'p'], /refusing to destroy pool p without --yes/);
    await refused(['pool', 'destroy', 'nope', '--yes'], /pool nope does not exist/);
    await refused(['pool', 'create', 'q', '--path', join(dataDir, 'nope')], /does not exist/);
    await refused(['pool', 'create', 'q', '--path', dataDir], /is not on a btrfs filesystem/);
    await refused(['pool', 'create', 'q', '--path', dataDir, '--size', '1G'], /--size and --path cannot be used together/);
  });

  test('a pool on an existing btrfs directory, destroyed without touching the rest', async () => {
    const srv = join(dataDir, 'pools', 'p', 'srv');
    await mkdir(srv);
    await writeFile(join(srv, 'keep.txt'), 'mine');
    const r = await cellblock('--json', 'pool', 'create', 'q', '--path', srv);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout) as PoolRecord;
    assert.deepEqual(rec.source, { kind: 'path', path: srv });
    assert.equal(rec.mountpoint, join(srv, 'cellblock-q'));
    assert.equal(rec.mountedByUs, false);
    const ds = await cellblock('dataset', 'create', 'data/x', '--pool', 'q');
    assert.equal(ds.code, 0, ds.stderr);
    const d = await cellblock('pool', 'destroy', 'q', '--yes');
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout, 'destroyed pool q\n');
    assert.deepEqual(await readdir(srv), ['keep.txt']);
  });

  test('pool destroy removes the mount, the loop device and the files', async () => {
    const r = await cellblock('pool', 'destroy', 'p', '--yes');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await mountsUnder(dataDir), []);
    assert.deepEqual(await loopDevicesUnder(dataDir), []);
    assert.deepEqual(await readdir(join(dataDir, 'pools')), []);
    assert.equal((await cellblock('pool', 'ls')).stdout, '(none)\n');
    await refused(['pool', 'destroy', 'p', '--yes'], /pool p does not exist/);
  });
});
