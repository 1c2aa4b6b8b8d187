import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ExecError, NotSupportedError, UserError } from '../../src/sys/errors.js';
import { defineDriver, DriverNotSupportedError, StorageDriverBase } from '../../src/storage/base.js';
import type { DriverInfo, PoolContext, PoolRecord, StorageDriver } from '../../src/storage/driver.js';
import { classifiedRun, classifier, isKind } from '../../src/storage/classify.js';
import { ancestors, atPathIn, checkRef, datasetPathIn, formatRef, isDirectory, pathExists, removeEmptyParents, snapshotPathIn, withParents } from '../../src/storage/paths.js';
import { ToolCheck } from '../../src/storage/tools.js';

const INFO: DriverInfo = { name: 'dir', copyOnWrite: false, incrementalSend: false, streamFormat: 'tar', snapshotsOutliveDataset: true, note: 'test', diskLimit: null, diskLimitNote: 'no limits here' };
const POOL: PoolRecord = { name: 'p', driver: 'dir', mountpoint: '/pools/p', source: { kind: 'path', path: '/pools/p' }, mountedByUs: false, createdAt: '2026-01-01T00:00:00.000Z' };
const CTX: PoolContext = { exec: async () => { throw new Error('no command expected'); }, dataDir: '/data' };

/** A driver that implements nothing: every operation falls back to the base. */
class BareDriver extends StorageDriverBase {
  readonly info = INFO;
}

const notSupported = (operation: string) => (e: unknown) => {
  assert.ok(e instanceof NotSupportedError, `${operation}: ${String(e)}`);
  assert.ok(e instanceof DriverNotSupportedError);
  assert.equal(e.driver, 'dir');
  assert.equal(e.operation, operation);
  assert.equal(e.message, `${operation} on a dir pool is not supported: the dir storage driver does not implement it`);
  return true;
};

test('every operation a driver does not implement fails with NotSupportedError naming the driver and the operation', async () => {
  const d: StorageDriver = new BareDriver(CTX, POOL);
  const ref = { dataset: 'a', snapshot: 's' };
  const calls: [string, () => Promise<unknown>][] = [
    ['createDataset', () => d.createDataset('a')],
    ['destroyDataset', () => d.destroyDataset('a')],
    ['datasetExists', () => d.datasetExists('a')],
    ['listDatasets', () => d.listDatasets()],
    ['createSnapshot', () => d.createSnapshot(ref)],
    ['destroySnapshot', () => d.destroySnapshot(ref)],
    ['listSnapshots', () => d.listSnapshots()],
    ['snapshotExists', () => d.snapshotExists(ref)],
    ['rollback', () => d.rollback(ref)],
    ['clone', () => d.clone(ref, 'b')],
    ['usage', () => d.usage('a')],
    ['receive', () => d.receive(new PassThrough(), ref)],
  ];
  for (const [op, call] of calls) {
    const p = call(); // async operations reject rather than throw
    assert.ok(p instanceof Promise, op);
    await assert.rejects(p, notSupported(op));
  }
  assert.throws(() => d.send(ref), notSupported('send'));
  assert.throws(() => d.snapshotPath(ref), notSupported('snapshotPath'));
  // a reason of the driver's own replaces the default one
  class Partial extends BareDriver {
    override async rollback(): Promise<void> { throw this.notSupported('rolling back a past later snapshots', 'destroy them first'); }
  }
  await assert.rejects(new Partial(CTX, POOL).rollback(), (e: unknown) => e instanceof DriverNotSupportedError && e.message === 'rolling back a past later snapshots on a dir pool is not supported: destroy them first');
});

test('the base places datasets under the pool mountpoint and checks their names', () => {
  const d = new BareDriver(CTX, POOL);
  assert.equal(d.datasetPath('images/site/v1'), '/pools/p/images/site/v1');
  assert.throws(() => d.datasetPath('../etc'), UserError);
  assert.throws(() => d.datasetPath('a//b'), UserError);
});

test('path helpers: datasets, things kept beside them, refs, ancestors', () => {
  assert.equal(datasetPathIn('/r', 'a/b'), '/r/a/b');
  assert.equal(snapshotPathIn('/r', '.snapshots', { dataset: 'a/b', snapshot: 's1' }), '/r/.snapshots/a/b@s1');
  assert.equal(atPathIn('/r', '.meta', 'a', '.json'), '/r/.meta/a@.json');
  assert.throws(() => snapshotPathIn('/r', '.snapshots', { dataset: 'a', snapshot: '../x' }), UserError);
  assert.equal(formatRef({ dataset: 'a/b', snapshot: 's' }), 'a/b@s');
  assert.deepEqual(checkRef({ dataset: 'a', snapshot: 's' }), { dataset: 'a', snapshot: 's' });
  assert.throws(() => checkRef({ dataset: 'A', snapshot: 's' }), UserError);
  assert.deepEqual(ancestors('a/b/c'), ['a', 'a/b']);
  assert.deepEqual(ancestors('a'), []);
});

test('parent directories: made for a step, removed when it fails, never above stopAt or past a kept one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cbpaths-'));
  try {
    assert.equal(await pathExists(join(root, 'nope')), false);
    assert.equal(await pathExists(join(root, 'nope', 'deeper')), false);
    await writeFile(join(root, 'f'), '');
    await symlink(join(root, 'missing'), join(root, 'dangling'));
    assert.equal(await pathExists(join(root, 'dangling')), true);
    assert.equal(await isDirectory(join(root, 'f')), false);
    assert.equal(await pathExists(join(root, 'f', 'x')), false, 'ENOTDIR is "not there"');

    // a failed step leaves no directory it made
    const target = join(root, 'a', 'b', 'c');
    await assert.rejects(withParents(root, target, async () => { throw new Error('step failed'); }), /step failed/);
    assert.equal(await pathExists(join(root, 'a')), false);
    // a successful one keeps them
    assert.equal(await withParents(root, target, async () => { await mkdir(target); return 7; }), 7);
    assert.ok((await stat(target)).isDirectory());
    // parents that existed before the step are not removed when it fails
    await assert.rejects(withParents(root, join(root, 'a', 'b', 'd'), async () => { throw new Error('no'); }));
    assert.equal(await isDirectory(join(root, 'a', 'b')), true);

    // removeEmptyParents: up to stopAt, stopping at a non-empty or kept directory
    await rm(target, { recursive: true });
    await mkdir(join(root, 'a', 'x', 'y'), { recursive: true });
    await removeEmptyParents(root, join(root, 'a', 'x', 'y'));
    assert.equal(await pathExists(join(root, 'a', 'x')), false);
    assert.equal(await isDirectory(join(root, 'a', 'b')), true, 'a holds b: kept');
    await mkdir(join(root, 'k', 'z'), { recursive: true });
    await removeEmptyParents(root, join(root, 'k', 'z'), async (d) => d === join(root, 'k', 'z'));
    assert.equal(await isDirectory(join(root, 'k', 'z')), true, 'keep() said no');
    await removeEmptyParents(root, root);
    assert.equal(await isDirectory(root), true, 'never stopAt itself');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a driver checks its tools once, names the missing one, and checks again after a failure', async () => {
  const asked: string[] = [];
  let installed = new Set(['cp', 'tar']);
  const tools = new ToolCheck(async (t) => { asked.push(t); return installed.has(t); });
  let opened = 0;
  const factory = defineDriver({
    info: INFO,
    tools: [{ tool: 'cp', pkg: 'coreutils' }, { tool: 'tar', pkg: 'tar' }, { tool: 'chattr', pkg: 'e2fsprogs' }],
    createPool: async () => POOL,
    open: async (ctx, record) => { opened++; return new BareDriver(ctx, record); },
    destroyPool: async () => {},
  }, tools);
  assert.equal(factory.name, 'dir');
  await assert.rejects(factory.open(CTX, POOL), (e: unknown) => e instanceof UserError && e.message === 'chattr is not installed; the dir storage driver needs it' && /apt-get install e2fsprogs/.test(e.fix ?? ''));
  assert.equal(opened, 0, 'nothing runs before the tools are there');
  installed = new Set(['cp', 'tar', 'chattr']);
  asked.length = 0;
  await factory.open(CTX, POOL);
  await factory.open(CTX, POOL);
  await factory.createPool(CTX, { name: 'p' });
  await factory.destroyPool(CTX, POOL);
  assert.deepEqual(asked, ['cp', 'tar', 'chattr'], 'each tool asked about once for all four calls');
  assert.equal(opened, 2);
});

test('classifier: tool, exit code and pattern select the kind; other kinds and errors are kept', async () => {
  const classify = classifier([
    { tool: 'umount', codes: [32], pattern: /not mounted/, kind: 'not-found' },
    { tool: ['zfs', 'zpool'], pattern: /already exists/, kind: 'exists' },
    { pattern: /busy/, kind: 'busy' },
  ]);
  const kind = (argv: string[], code: number | null, stderr: string) => classify(new ExecError(argv, code, stderr)).kind;
  assert.equal(kind(['/usr/bin/umount', '/x'], 32, 'umount: /x: not mounted.'), 'not-found');
  assert.equal(kind(['umount', '/x'], 1, 'umount: /x: not mounted.'), 'failed', 'another exit code');
  assert.equal(kind(['mount', '/x'], 32, 'not mounted'), 'failed', 'another tool');
  assert.equal(kind(['zpool', 'create'], 1, 'pool already exists'), 'exists');
  assert.equal(kind(['tar'], 2, 'device busy'), 'busy');
  assert.equal(kind(['tar'], 2, 'something else'), 'failed');
  assert.equal(classify(new ExecError(['zfs'], null, 'already exists', 'timeout')).kind, 'timeout');
  const plain = new Error('x');
  assert.equal(classify(plain), plain);
  const run = classifiedRun(classify);
  await assert.rejects(run(async (argv) => { throw new ExecError(argv, 1, 'dataset already exists'); }, ['zfs', 'create', 'x']), (e: unknown) => isKind(e, 'exists'));
});
