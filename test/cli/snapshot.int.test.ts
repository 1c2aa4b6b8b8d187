// The real `cellblock snapshot` and `cellblock dataset` commands on a btrfs loop pool (root
// only). Every refused command must change nothing: same files, subvolumes, mounts, loops.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../src/sys/exec.js';
import type { DatasetInfo, SnapshotInfo } from '../../src/storage/driver.js';
import { cleanupDataDir, stateOf, subvolumesOf } from '../helpers/loop-pools.js';

const skip = process.getuid?.() !== 0 && 'needs root';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ANY = Array.from({ length: 256 }, (_, i) => i);

describe('cellblock snapshot and dataset', { skip }, () => {
  let dataDir: string;
  let mount: string;
  const cellblock = (...args: string[]) =>
    exec([process.execPath, `${ROOT}bin/cellblock`, '--data-dir', dataDir, ...args], { cwd: ROOT, timeoutMs: 120_000, okCodes: ANY });
  async function ok(...args: string[]) {
    const r = await cellblock(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  const json = async <T>(...args: string[]) => JSON.parse(await ok('--json', ...args)) as T;

  async function refused(args: string[], message: RegExp) {
    const before = { ...(await stateOf(dataDir)), subs: await subvolumesOf(mount) };
    const r = await cellblock(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.match(r.stderr, /^ {2}fix: /m, `${args.join(' ')} says what to do`);
    assert.equal(r.stdout, '');
    assert.deepEqual({ ...(await stateOf(dataDir)), subs: await subvolumesOf(mount) }, before, `${args.join(' ')} changed nothing`);
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cellblock-cli-snap-'));
    await ok('pool', 'create', 'p', '--size', '512M');
    mount = join(dataDir, 'pools', 'p');
  });

  after(async () => {
    try {
      await cellblock('pool', 'destroy', 'p', '--yes');
    } finally {
      await cleanupDataDir(dataDir);
    }
  });

  test('dataset create and ls', async () => {
    const info = await json<DatasetInfo>('dataset', 'create', 'data/app', '--pool', 'p');
    assert.deepEqual(info, { name: 'data/app', path: join(mount, 'data', 'app') });
    await writeFile(join(info.path, 'f'), 'one');
    assert.match(await ok('dataset', 'ls', '--pool', 'p'), /^DATASET\s+ORIGIN\s+PATH\ndata\/app\s+-\s+\S+data\/app\n$/);
  });

  test('snapshot create makes a read-only snapshot; ls lists them oldest first', async () => {
    const s1 = await json<SnapshotInfo>('snapshot', 'create', 'data/app@s1', '--pool', 'p');
    assert.equal(s1.path, join(mount, '.snapshots', 'data', 'app@s1'));
    assert.equal(s1.dataset, 'data/app');
    assert.equal(s1.name, 's1');
    await assert.rejects(writeFile(join(s1.path, 'f'), 'x'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
    await writeFile(join(mount, 'data', 'app', 'f'), 'two');
    assert.match(await ok('snapshot', 'create', 'data/app@s2', '--pool', 'p'), /^created snapshot data\/app@s2 \(read-only, at .*app@s2\)\n$/);
    const table = await ok('snapshot', 'ls', '--pool', 'p');
    assert.match(table, /^SNAPSHOT\s+CREATED\s+PATH\ndata\/app@s1\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\S+app@s1\ndata\/app@s2\s+\S+\s+\S+app@s2\n$/);
    const list = await json<SnapshotInfo[]>('snapshot', 'ls', 'data/app', '--pool', 'p');
    assert.deepEqual(list.map((s) => s.name), ['s1', 's2']);
  });

  test('snapshot rollback brings the contents back', async () => {
    await writeFile(join(mount, 'data', 'app', 'extra'), 'x');
    assert.equal(await ok('snapshot', 'rollback', 'data/app@s1', '--pool', 'p'), 'rolled back data/app to data/app@s1\n');
    assert.equal(await readFile(join(mount, 'data', 'app', 'f'), 'utf8'), 'one');
    assert.deepEqual(await readdir(join(mount, 'data', 'app')), ['f']);
  });

  test('snapshot clone makes a writable dataset with an origin', async () => {
    const c = await json<DatasetInfo>('snapshot', 'clone', 'data/app@s2', 'data/test', '--pool', 'p');
    assert.deepEqual(c, { name: 'data/test', path: join(mount, 'data', 'test'), origin: 'data/app@s2' });
    assert.equal(await readFile(join(c.path, 'f'), 'utf8'), 'two');
    await writeFile(join(c.path, 'f'), 'mine');
    assert.match(await ok('dataset', 'ls', '--pool', 'p'), /^data\/test\s+data\/app@s2\s+/m);
  });

  test('bad names, missing things and duplicates are refused with a fix and change nothing', async () => {
    await refused(['snapshot', 'create', 'data/app@Bad', '--pool', 'p'], /invalid snapshot name "Bad"/);
    await refused(['snapshot', 'create', 'data/app', '--pool', 'p'], /expected DATASET@NAME/);
    await refused(['snapshot', 'create', 'data/app@a@b', '--pool', 'p'], /expected DATASET@NAME/);
    await refused(['snapshot', 'create', '../etc@s', '--pool', 'p'], /invalid dataset name/);
    await refused(['snapshot', 'clone', 'data/app@s1', '../x', '--pool', 'p'], /invalid dataset name "..\/x"/);
    await refused(['snapshot', 'ls', 'Data', '--pool', 'p'], /invalid dataset name "Data"/);
    await refused(['snapshot', 'create', 'data/app@s3', '--pool', 'Bad'], /invalid pool name "Bad"/);
    await refused(['snapshot', 'create', 'data/app@s3', '--pool', 'nope'], /pool nope does not exist/);
    await refused(['snapshot', 'ls'], /pool default does not exist/);
    await refused(['snapshot', 'create', 'data/app@s1', '--pool', 'p'], /snapshot data\/app@s1 already exists/);
    await refused(['snapshot', 'create', 'data/nope@s1', '--pool', 'p'], /dataset data\/nope does not exist/);
    await refused(['snapshot', 'rm', 'data/app@zz', '--pool', 'p'], /snapshot data\/app@zz does not exist/);
    await refused(['snapshot', 'rollback', 'data/app@zz', '--pool', 'p'], /snapshot data\/app@zz does not exist/);
    await refused(['snapshot', 'clone', 'data/app@s1', 'data/test', '--pool', 'p'], /dataset data\/test already exists/);
    await refused(['snapshot', 'clone', 'data/app@zz', 'data/new', '--pool', 'p'], /snapshot data\/app@zz does not exist/);
    await refused(['snapshot', 'ls', 'data/nope', '--pool', 'p'], /dataset data\/nope does not exist/);
    await refused(['dataset', 'create', 'data/app', '--pool', 'p'], /dataset data\/app already exists/);
    await refused(['dataset', 'create', 'data', '--pool', 'p'], /data is a directory holding other datasets/);
    await refused(['dataset', 'create', 'Data/x', '--pool', 'p'], /invalid dataset name/);
    await refused(['dataset', 'rm', 'data/nope', '--pool', 'p'], /dataset data\/nope does not exist/);
  });

  test('snapshot rm and dataset rm, with and without --keep-snapshots', async () => {
    assert.equal(await ok('snapshot', 'rm', 'data/app@s2', '--pool', 'p'), 'removed snapshot data/app@s2\n');
    assert.deepEqual((await json<SnapshotInfo[]>('snapshot', 'ls', 'data/app', '--pool', 'p')).map((s) => s.name), ['s1']);
    assert.equal(await readFile(join(mount, 'data', 'test', 'f'), 'utf8'), 'mine', 'a clone outlives the snapshot it came from');
    assert.equal(await ok('dataset', 'rm', 'data/test', '--pool', 'p'), 'removed data/test: the dataset\n');
    assert.equal(await ok('dataset', 'rm', 'data/app', '--keep-snapshots', '--pool', 'p'), 'removed data/app: the dataset\n');
    assert.equal(await ok('dataset', 'ls', '--pool', 'p'), '(none)\n');
    assert.deepEqual((await json<SnapshotInfo[]>('snapshot', 'ls', 'data/app', '--pool', 'p')).map((s) => s.name), ['s1']);
    await ok('snapshot', 'clone', 'data/app@s1', 'data/app', '--pool', 'p');
    assert.equal(await readFile(join(mount, 'data', 'app', 'f'), 'utf8'), 'one');
    assert.equal(await ok('dataset', 'rm', 'data/app', '--pool', 'p'), 'removed data/app: the dataset and 1 snapshot(s)\n');
    assert.equal(await ok('snapshot', 'ls', '--pool', 'p'), '(none)\n');
    assert.deepEqual(await subvolumesOf(mount), []);
    assert.deepEqual(await readdir(mount), ['.snapshots']);
    assert.deepEqual(await readdir(join(mount, '.snapshots')), []);
  });

  test('every command has help with an example', async () => {
    for (const c of [['snapshot', 'create'], ['snapshot', 'ls'], ['snapshot', 'rollback'], ['snapshot', 'rm'], ['snapshot', 'clone'], ['dataset', 'create'], ['dataset', 'ls'], ['dataset', 'rm']]) {
      const out = await ok(...c, '--help');
      assert.match(out, new RegExp(`^Usage: cellblock ${c.join(' ')} `), c.join(' '));
      assert.match(out, /--pool <name>/, c.join(' '));
      assert.match(out, new RegExp(`Examples:\\n {2}cellblock ${c.join(' ')}`), c.join(' '));
    }
  });
});
