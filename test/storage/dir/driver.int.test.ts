// The real dir driver on a temporary directory: no root needed (as root the snapshots are
// also made immutable, and that is checked too).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { exec } from '../../../src/sys/exec.js';
import { ExistsError, NotFoundError, UserError } from '../../../src/sys/errors.js';
import { dirDriver } from '../../../src/storage/dir/index.js';
import type { PoolContext, PoolRecord, StorageDriver } from '../../../src/storage/driver.js';

const isRoot = process.getuid?.() === 0;
let tmp: string;
let ctx: PoolContext;
let recA: PoolRecord;
let recB: PoolRecord;
let a: StorageDriver;
let b: StorageDriver;

/** Removes a temp dir even when it holds immutable snapshots. */
async function removeAll(dir: string): Promise<void> {
  if (isRoot) await exec(['chattr', '-R', '-i', dir], { okCodes: [0, 1] }).catch(() => {});
  await rm(dir, { recursive: true, force: true });
}

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function sendBytes(d: StorageDriver, ds: string, snapshot: string): Promise<Buffer> {
  const s = d.send({ dataset: ds, snapshot });
  const [buf] = await Promise.all([collect(s.stream), s.done]);
  return buf;
}

/** Relative path -> description of every entry below dir (type, mode, content or link target). */
async function describeTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (rel: string) => {
    for (const n of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const p = join(dir, r);
      const st = await lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link -> ${await readlink(p)}`;
      else if (st.isDirectory()) { out[r] = `dir ${mode}`; await visit(r); }
      else out[r] = `file ${mode} nlink=${st.nlink} ${(await readFile(p)).toString('utf8').slice(0, 40)}`;
    }
  };
  await visit('');
  return out;
}

async function workLeft(root: string): Promise<string[]> {
  return readdir(join(root, '.work')).catch(() => []);
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cellblock-dir-'));
  ctx = { exec, dataDir: join(tmp, 'data') };
  recA = await dirDriver.createPool(ctx, { name: 'a' });
  recB = await dirDriver.createPool(ctx, { name: 'b', path: join(tmp, 'elsewhere', 'b') });
  a = await dirDriver.open(ctx, recA);
  b = await dirDriver.open(ctx, recB);
});

after(async () => {
  try {
    await dirDriver.destroyPool(ctx, recA).catch(() => {});
    await dirDriver.destroyPool(ctx, recB).catch(() => {});
  } finally {
    await removeAll(tmp);
  }
});

describe('dir pools', () => {
  test('a pool without --path lives in DATA_DIR/pools/NAME; with --path where it is told', () => {
    assert.deepEqual({ ...recA, createdAt: '' }, {
      name: 'a', driver: 'dir', mountpoint: join(tmp, 'data', 'pools', 'a'),
      source: { kind: 'path', path: join(tmp, 'data', 'pools', 'a') }, mountedByUs: false, createdAt: '',
    });
    assert.equal(recB.mountpoint, join(tmp, 'elsewhere', 'b'));
    assert.deepEqual(dirDriver.info, { name: 'dir', copyOnWrite: false, incrementalSend: false, streamFormat: 'tar', snapshotsOutliveDataset: true, note: 'plain directories: every snapshot and clone is a full copy', diskLimit: null, diskLimitNote: 'the dir driver cannot enforce a disk limit: a jail on it can fill the file system; use a btrfs or zfs pool for limits' });
  });

  test('refuses a non-empty directory, another pool\'s directory and a path inside a pool; changes nothing', async () => {
    const full = join(tmp, 'full');
    await mkdir(full);
    await writeFile(join(full, 'keep.txt'), 'mine');
    await assert.rejects(dirDriver.createPool(ctx, { name: 'c', path: full }), (e: unknown) => e instanceof UserError && /is not empty/.test(e.message));
    assert.deepEqual(await readdir(full), ['keep.txt']);
    await assert.rejects(dirDriver.createPool(ctx, { name: 'c', path: recB.mountpoint }), (e: unknown) => e instanceof ExistsError && /already holds pool b/.test(e.message));
    await assert.rejects(dirDriver.createPool(ctx, { name: 'c', path: join(recA.mountpoint, 'x', 'y') }), /inside the directory of pool a/);
    assert.equal(await stat(join(recA.mountpoint, 'x')).catch(() => null), null);
    const file = join(tmp, 'a-file');
    await writeFile(file, '');
    await assert.rejects(dirDriver.createPool(ctx, { name: 'c', path: file }), /is not a directory/);
  });

  test('an existing empty directory is used and kept on destroy; directories it made are removed', async () => {
    const empty = join(tmp, 'empty');
    await mkdir(empty);
    const rec = await dirDriver.createPool(ctx, { name: 'e', path: empty });
    const d = await dirDriver.open(ctx, rec);
    await d.createDataset('x/y');
    await writeFile(join(d.datasetPath('x/y'), 'f'), 'data');
    await d.createSnapshot({ dataset: 'x/y', snapshot: 's' });
    await dirDriver.destroyPool(ctx, rec);
    assert.deepEqual(await readdir(empty), []);
    await rm(empty, { recursive: true });
    const deep = join(tmp, 'deep', 'er', 'pool');
    const rec2 = await dirDriver.createPool(ctx, { name: 'f', path: deep });
    await dirDriver.destroyPool(ctx, rec2);
    assert.equal(await stat(join(tmp, 'deep')).catch(() => null), null);
    await assert.rejects(dirDriver.open(ctx, rec2), NotFoundError);
  });
});

describe('datasets, snapshots, clones, rollback', () => {
  test('datasets: create, exists, list, refusals', async () => {
    const info = await a.createDataset('jails/web1');
    assert.deepEqual(info, { name: 'jails/web1', path: join(recA.mountpoint, 'jails', 'web1') });
    assert.equal(await a.datasetExists('jails/web1'), true);
    assert.equal(await a.datasetExists('jails'), false);
    await assert.rejects(a.createDataset('jails/web1'), ExistsError);
    await assert.rejects(a.createDataset('jails/web1/inner'), /would be inside dataset jails\/web1/);
    await assert.rejects(a.createDataset('jails'), /would contain dataset jails\/web1/);
    await assert.rejects(a.createDataset('../x'), UserError);
    await a.createDataset('vol');
    assert.deepEqual((await a.listDatasets()).map((d) => d.name), ['jails/web1', 'vol']);
    await a.destroyDataset('vol');
    await a.destroyDataset('vol'); // missing: no-op
    assert.deepEqual((await a.listDatasets()).map((d) => d.name), ['jails/web1']);
  });

  test('a snapshot is a frozen copy: later writes to the head do not change it', async () => {
    const head = a.datasetPath('jails/web1');
    await mkdir(join(head, 'etc'), { mode: 0o750 });
    await chmod(join(head, 'etc'), 0o750);
    await writeFile(join(head, 'etc', 'conf'), 'v1\n');
    await chmod(join(head, 'etc', 'conf'), 0o640);
    await writeFile(join(head, 'gone'), 'to be deleted');
    await symlink('etc/conf', join(head, 'conf-link'));
    await link(join(head, 'etc', 'conf'), join(head, 'hard'));
    const before = await describeTree(head);
    const snap = await a.createSnapshot({ dataset: 'jails/web1', snapshot: 's1' });
    assert.equal(snap.path, join(recA.mountpoint, '.snapshots', 'jails', 'web1@s1'));
    assert.equal(snap.path, a.snapshotPath({ dataset: 'jails/web1', snapshot: 's1' }));
    assert.deepEqual(await describeTree(snap.path), before, 'modes, links and contents are copied exactly');

    await appendFile(join(head, 'etc', 'conf'), 'v2\n');
    await unlink(join(head, 'gone'));
    await writeFile(join(head, 'new'), 'new');
    assert.equal(await readFile(join(snap.path, 'etc', 'conf'), 'utf8'), 'v1\n');
    assert.equal(await readFile(join(snap.path, 'gone'), 'utf8'), 'to be deleted');
    assert.equal(await stat(join(snap.path, 'new')).catch(() => null), null);
    if (isRoot) {
      await assert.rejects(writeFile(join(snap.path, 'etc', 'conf'), 'x'), { code: 'EPERM' });
      await assert.rejects(unlink(join(snap.path, 'gone')), { code: 'EPERM' });
    }
    await assert.rejects(a.createSnapshot({ dataset: 'jails/web1', snapshot: 's1' }), ExistsError);
    await assert.rejects(a.createSnapshot({ dataset: 'nope', snapshot: 's1' }), NotFoundError);
    assert.deepEqual(await workLeft(recA.mountpoint), []);
  });

  test('snapshots are listed by dataset, then creation time', async () => {
    await a.createSnapshot({ dataset: 'jails/web1', snapshot: 'a-later' });
    await a.createDataset('other');
    await a.createSnapshot({ dataset: 'other', snapshot: 'x' });
    assert.deepEqual((await a.listSnapshots()).map((s) => `${s.dataset}@${s.name}`), ['jails/web1@s1', 'jails/web1@a-later', 'other@x']);
    assert.deepEqual((await a.listSnapshots('jails/web1')).map((s) => s.name), ['s1', 'a-later']);
    assert.deepEqual(await a.listSnapshots('jails'), []);
    assert.equal(await a.snapshotExists({ dataset: 'jails/web1', snapshot: 's1' }), true);
    assert.equal(await a.snapshotExists({ dataset: 'jails/web1', snapshot: 'zz' }), false);
    await a.destroySnapshot({ dataset: 'other', snapshot: 'x' });
    await a.destroySnapshot({ dataset: 'other', snapshot: 'x' }); // missing: no-op
    await a.destroyDataset('other');
    assert.deepEqual((await a.listSnapshots()).map((s) => s.name), ['s1', 'a-later']);
  });

  test('clone: a writable full copy of a snapshot that records its origin', async () => {
    const ref = { dataset: 'jails/web1', snapshot: 's1' };
    const c = await a.clone(ref, 'jails/web2');
    assert.deepEqual(c, { name: 'jails/web2', path: a.datasetPath('jails/web2'), origin: 'jails/web1@s1' });
    assert.deepEqual(await describeTree(c.path), await describeTree(a.snapshotPath(ref)));
    await writeFile(join(c.path, 'etc', 'conf'), 'clone\n');
    assert.equal(await readFile(join(a.snapshotPath(ref), 'etc', 'conf'), 'utf8'), 'v1\n');
    assert.deepEqual((await a.listDatasets()).find((d) => d.name === 'jails/web2')?.origin, 'jails/web1@s1');
    await assert.rejects(a.clone(ref, 'jails/web2'), ExistsError);
    await assert.rejects(a.clone({ dataset: 'jails/web1', snapshot: 'nope' }, 'jails/web3'), NotFoundError);
    await assert.rejects(a.clone(ref, 'jails/web1/sub'), /would be inside/);
    await a.destroyDataset('jails/web2');
  });

  test('rollback replaces the head with the snapshot; later snapshots remain', async () => {
    const head = a.datasetPath('jails/web1');
    await writeFile(join(head, 'after-rollback-gone'), 'x');
    await a.rollback({ dataset: 'jails/web1', snapshot: 's1' });
    assert.equal(await readFile(join(head, 'etc', 'conf'), 'utf8'), 'v1\n');
    assert.equal(await stat(join(head, 'after-rollback-gone')).catch(() => null), null);
    assert.equal(await stat(join(head, 'new')).catch(() => null), null);
    await writeFile(join(head, 'writable-again'), 'yes');
    assert.deepEqual((await a.listSnapshots('jails/web1')).map((s) => s.name), ['s1', 'a-later']);
    assert.deepEqual(await workLeft(recA.mountpoint), []);
    await assert.rejects(a.rollback({ dataset: 'jails/web1', snapshot: 'nope' }), NotFoundError);
  });

  test('usage: allocated bytes of the tree, hard links counted once', async () => {
    await a.createDataset('space');
    const p = a.datasetPath('space');
    const empty = await a.usage('space');
    await writeFile(join(p, 'big'), Buffer.alloc(1024 * 1024, 7));
    await link(join(p, 'big'), join(p, 'big-again'));
    const u = await a.usage('space');
    assert.equal(u.referenced, u.exclusive);
    assert.ok(u.referenced - empty.referenced >= 1024 * 1024, `${u.referenced}`);
    assert.ok(u.referenced - empty.referenced < 2 * 1024 * 1024, `hard link counted twice: ${u.referenced}`);
    await a.createSnapshot({ dataset: 'space', snapshot: 's' });
    assert.deepEqual(await a.usage({ dataset: 'space', snapshot: 's' }), u);
    await assert.rejects(a.usage('nope'), NotFoundError);
    await a.destroyDataset('space');
  });

  test('destroyDataset with keepSnapshots frees the head; the snapshot stays usable', async () => {
    await a.createDataset('img/site');
    await writeFile(join(a.datasetPath('img/site'), 'index.html'), 'hello');
    await a.createSnapshot({ dataset: 'img/site', snapshot: 'image' });
    await a.destroyDataset('img/site', { keepSnapshots: true });
    assert.equal(await a.datasetExists('img/site'), false);
    assert.equal(await stat(join(recA.mountpoint, 'img')).catch(() => null), null, 'empty parents are pruned');
    const c = await a.clone({ dataset: 'img/site', snapshot: 'image' }, 'jails/site1');
    assert.equal(await readFile(join(c.path, 'index.html'), 'utf8'), 'hello');
    await a.destroyDataset('jails/site1');
    await a.destroyDataset('img/site');
    assert.deepEqual(await a.listSnapshots('img/site'), []);
  });
});

describe('send and receive', () => {
  test('a snapshot travels between two pools as a tar stream', async () => {
    const ref = { dataset: 'jails/web1', snapshot: 's1' };
    const bytes = await sendBytes(a, ref.dataset, ref.snapshot);
    const got = await b.receive(Readable.from([bytes]), { dataset: 'copies/web1', snapshot: 's1' });
    assert.equal(got.path, b.snapshotPath({ dataset: 'copies/web1', snapshot: 's1' }));
    assert.deepEqual(await describeTree(got.path), await describeTree(a.snapshotPath(ref)));
    const mode = (p: string) => stat(p).then((s) => s.mode & 0o7777);
    assert.equal(await mode(got.path), await mode(a.snapshotPath(ref)));
    assert.equal(await b.datasetExists('copies/web1'), false, 'receive makes the snapshot, not a head');
    await b.rollback({ dataset: 'copies/web1', snapshot: 's1' });
    assert.equal(await readFile(join(b.datasetPath('copies/web1'), 'etc', 'conf'), 'utf8'), 'v1\n');
    // parent is accepted and ignored: every dir stream is full
    const again = await sendBytes(a, ref.dataset, ref.snapshot);
    await b.receive(Readable.from([again]), { dataset: 'copies/web1', snapshot: 's2' }, { dataset: 'copies/web1', snapshot: 's1' });
    assert.throws(() => a.send({ dataset: 'jails/web1', snapshot: 'nope' }), NotFoundError);
  });

  test('receive refuses an existing target before reading the stream', async () => {
    const input = new PassThrough();
    await assert.rejects(b.receive(input, { dataset: 'copies/web1', snapshot: 's1' }), ExistsError);
    assert.equal(input.readableFlowing, null, 'the stream was not touched');
  });

  async function assertNothingLeft(ds: string): Promise<void> {
    assert.equal(await b.snapshotExists({ dataset: ds, snapshot: 's' }), false);
    assert.deepEqual(await b.listSnapshots(ds), []);
    assert.deepEqual(await workLeft(recB.mountpoint), []);
    assert.equal(await stat(join(recB.mountpoint, '.snapshots', 'bad')).catch(() => null), null);
  }

  test('a truncated tar stream is refused and leaves nothing behind', async () => {
    const bytes = await sendBytes(a, 'jails/web1', 's1');
    // cut inside a member (tar notices), between members (only the end-marker check does);
    // a cut inside tar's zero padding after the end marker loses nothing and is accepted
    for (const cut of [700, 1000, 1536, 2048, Math.floor(bytes.length / 2)]) {
      await assert.rejects(b.receive(Readable.from([bytes.subarray(0, cut)]), { dataset: 'bad/trunc', snapshot: 's' }), (e: unknown) => e instanceof UserError && /tar/.test(e.message), `cut at ${cut}`);
      await assertNothingLeft('bad/trunc');
    }
  });

  test('garbage and empty streams are refused and leave nothing behind', async () => {
    for (const junk of [Buffer.from('this is not a tar archive at all'.repeat(100)), Buffer.alloc(0), Buffer.alloc(4096, 0xff)]) {
      await assert.rejects(b.receive(Readable.from([junk]), { dataset: 'bad/junk', snapshot: 's' }), UserError);
      await assertNothingLeft('bad/junk');
    }
  });

  test('an input stream that fails half-way is refused with its own error and leaves nothing behind', async () => {
    const bytes = await sendBytes(a, 'jails/web1', 's1');
    const input = new PassThrough();
    input.write(bytes.subarray(0, 2048));
    setTimeout(() => input.destroy(new Error('connection reset by peer')), 50);
    await assert.rejects(b.receive(input, { dataset: 'bad/err', snapshot: 's' }), /connection reset by peer/);
    await assertNothingLeft('bad/err');
    // a stream that fails only after its last byte (a verifier at the end) also counts
    const late = new Readable({ read() {} });
    late.push(bytes);
    setTimeout(() => late.destroy(new Error('checksum mismatch')), 50);
    await assert.rejects(b.receive(late, { dataset: 'bad/late', snapshot: 's' }), /checksum mismatch/);
    await assertNothingLeft('bad/late');
  });
});
