// The zfs driver's decisions, with a recording exec that answers as OpenZFS 2.1 does (no zfs
// here: this checks which commands the driver runs and how it reads their answers; the
// real-zfs test is driver.int.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ExecError, ExistsError, NotFoundError, NotSupportedError, UserError } from '../../../src/sys/errors.js';
import type { Exec } from '../../../src/sys/exec.js';
import type { PoolRecord } from '../../../src/storage/driver.js';
import { createZfsPool } from '../../../src/storage/zfs/pool.js';
import { ZfsDriver } from '../../../src/storage/zfs/driver.js';

type Answer = string | { stderr: string };

/** An exec answering each command line from a script (a list is answered in order); anything else fails the test. */
function scripted(script: Record<string, Answer | Answer[]>): { exec: Exec; calls: string[] } {
  const calls: string[] = [];
  const left = new Map(Object.entries(script).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]));
  const exec: Exec = async (argv, opts) => {
    const cmd = argv.join(' ');
    calls.push(cmd);
    if (opts?.input && typeof opts.input !== 'string' && !Buffer.isBuffer(opts.input)) {
      for await (const _ of opts.input) { /* consume, as zfs receive would */ }
    }
    const entry = left.get(cmd);
    if (entry === undefined) throw new Error(`unexpected command: ${cmd}`);
    const a = Array.isArray(entry) ? entry.shift() : entry;
    if (a === undefined) throw new Error(`command run more often than scripted: ${cmd}`);
    if (typeof a !== 'string') throw new ExecError(argv, 1, a.stderr);
    return { stdout: a, stderr: '', code: 0 };
  };
  return { exec, calls };
}

const missing = (name: string) => ({ stderr: `cannot open '${name}': dataset does not exist\n` });
const ROOT_COLS = 'zfs list -H -p -o name,mountpoint,mounted,cellblock:pool,cellblock:datadir -t filesystem';
const FS = (name: string) => `zfs list -H -p -o name,cellblock:dataset,readonly -t filesystem ${name}`;
const SNAPS = (name: string) => `zfs list -H -p -o name,creation,createtxg -t snapshot -d 1 ${name}`;
const CHILDREN = (name: string) => `zfs list -H -p -o name -t filesystem -d 1 ${name}`;
const R = 'tank/cb/cellblock-p';

const record: PoolRecord = { name: 'p', driver: 'zfs', mountpoint: '/tank/cb/cellblock-p', source: { kind: 'zfs', dataset: R }, mountedByUs: false, createdAt: '2026-01-01T00:00:00.000Z' };

test('createPool makes one child dataset under --path, marked as this pool\'s', async () => {
  const { exec, calls } = scripted({
    [`${ROOT_COLS} tank/cb`]: 'tank/cb\t/tank/cb\tyes\t-\t-\n',
    [`${ROOT_COLS} ${R}`]: [missing(R), `${R}\t/tank/cb/cellblock-p\tyes\tp\t/data\n`],
    [`zfs create -o cellblock:pool=p -o cellblock:datadir=/data ${R}`]: '',
  });
  const rec = await createZfsPool({ exec, dataDir: '/data' }, { name: 'p', path: 'tank/cb' });
  assert.deepEqual({ ...rec, createdAt: '' }, { ...record, createdAt: '' });
  assert.equal(calls.length, 4);
});

test('createPool under a dataset without a mountpoint mounts the pool at DATA_DIR/pools/NAME', async () => {
  const { exec, calls } = scripted({
    [`${ROOT_COLS} tank`]: 'tank\tnone\tno\t-\t-\n',
    [`${ROOT_COLS} tank/cellblock-p`]: [missing('tank/cellblock-p'), 'tank/cellblock-p\tnone\tno\tp\t/data\n', 'tank/cellblock-p\t/data/pools/p\tno\tp\t/data\n'],
    ['zfs create -o cellblock:pool=p -o cellblock:datadir=/data tank/cellblock-p']: '',
    ['zfs set mountpoint=/data/pools/p tank/cellblock-p']: '',
    ['zfs mount tank/cellblock-p']: '',
  });
  const rec = await createZfsPool({ exec, dataDir: '/data' }, { name: 'p', path: 'tank' });
  assert.equal(rec.mountpoint, '/data/pools/p');
  assert.deepEqual(calls.filter((c) => !c.startsWith('zfs list')), [
    'zfs create -o cellblock:pool=p -o cellblock:datadir=/data tank/cellblock-p',
    'zfs set mountpoint=/data/pools/p tank/cellblock-p',
    'zfs mount tank/cellblock-p',
  ]);
});

test('createPool refusals run nothing that changes anything', async () => {
  const { exec, calls } = scripted({
    [`${ROOT_COLS} tank/nope`]: missing('tank/nope'),
    [`${ROOT_COLS} tank`]: 'tank\t/tank\tyes\t-\t-\n',
    [`${ROOT_COLS} tank/cellblock-p`]: 'tank/cellblock-p\t/tank/cellblock-p\tyes\tother\t/elsewhere\n',
  });
  const ctx = { exec, dataDir: '/data' };
  await assert.rejects(createZfsPool(ctx, { name: 'p' }), (e: unknown) => e instanceof UserError && /needs --path/.test(e.message));
  await assert.rejects(createZfsPool(ctx, { name: 'p', path: '-rf' }), /invalid zfs dataset name/);
  await assert.rejects(createZfsPool(ctx, { name: 'p', path: 'tank', size: 1 << 30 }), /--size does not apply/);
  await assert.rejects(createZfsPool(ctx, { name: 'p', path: 'tank/nope' }), NotFoundError);
  await assert.rejects(createZfsPool(ctx, { name: 'p', path: 'tank' }), ExistsError);
  assert.ok(calls.every((c) => c.startsWith('zfs list ')), calls.join('\n'));
});

test('datasets are created with their parents and marked with their name', async () => {
  const { exec, calls } = scripted({
    [FS(`${R}/jails/web1`)]: [missing(`${R}/jails/web1`), `${R}/jails/web1\tjails/web1\toff\n`],
    [`zfs create -p -o cellblock:dataset=jails/web1 ${R}/jails/web1`]: '',
  });
  const d = new ZfsDriver({ exec, dataDir: '/data' }, record);
  assert.deepEqual(await d.createDataset('jails/web1'), { name: 'jails/web1', path: '/tank/cb/cellblock-p/jails/web1' });
  await assert.rejects(d.createDataset('jails/web1'), ExistsError);
  assert.equal(calls.length, 3);
});

test('destroyDataset keeping snapshots keeps the head read-only and unmarked', async () => {
  const { exec, calls } = scripted({
    [FS(`${R}/img`)]: `${R}/img\timg\toff\n`,
    [SNAPS(`${R}/img`)]: `${R}/img@image\t1700000000\t57\n`,
    [`zfs set readonly=on ${R}/img`]: '',
    [`zfs inherit cellblock:dataset ${R}/img`]: '',
  });
  const d = new ZfsDriver({ exec, dataDir: '/data' }, record);
  await d.destroyDataset('img', { keepSnapshots: true });
  assert.deepEqual(calls.slice(-2), [`zfs set readonly=on ${R}/img`, `zfs inherit cellblock:dataset ${R}/img`]);
});

test('snapshots are listed relative to the pool, in creation order; rollback past a later one is refused', async () => {
  const { exec, calls } = scripted({
    [SNAPS(`${R}/a`)]: `${R}/a@s2\t1700000000\t60\n${R}/a@s1\t1700000000\t59\n${R}/a@s3\t1700000001\t61\n`,
    [`zfs rollback ${R}/a@s3`]: '',
    [FS(`${R}/a`)]: `${R}/a\ta\toff\n`,
  });
  const d = new ZfsDriver({ exec, dataDir: '/data' }, record);
  const snaps = await d.listSnapshots('a');
  assert.deepEqual(snaps.map((s) => s.name), ['s1', 's2', 's3']);
  assert.deepEqual(snaps[0], { dataset: 'a', name: 's1', path: '/tank/cb/cellblock-p/a/.zfs/snapshot/s1', createdAt: '2023-11-14T22:13:20.000Z' });
  await assert.rejects(d.rollback({ dataset: 'a', snapshot: 's1' }), (e: unknown) => e instanceof NotSupportedError && /a@s2, a@s3/.test(e.message));
  assert.ok(!calls.some((c) => c.startsWith('zfs rollback')));
  await d.rollback({ dataset: 'a', snapshot: 's3' });
  assert.ok(calls.includes(`zfs rollback ${R}/a@s3`));
});

test('a failed receive into a new dataset removes it and the parents it made, and throws zfs\'s error', async () => {
  const target = `${R}/images/site/v1`;
  const { exec, calls } = scripted({
    [`zfs list -H -p -o name -t snapshot ${target}@image`]: missing(`${target}@image`),
    [FS(target)]: [missing(target), missing(target)],
    [FS(`${R}/images`)]: [missing(`${R}/images`), `${R}/images\t-\toff\n`],
    [FS(`${R}/images/site`)]: [missing(`${R}/images/site`), `${R}/images/site\t-\toff\n`],
    [`zfs create ${R}/images`]: '',
    [`zfs create ${R}/images/site`]: '',
    [`zfs receive -o cellblock:dataset=images/site/v1 ${target}@image`]: { stderr: 'cannot receive: failed to read from stream\n' },
    [`zfs receive -A ${target}`]: missing(target),
    [CHILDREN(`${R}/images/site`)]: `${R}/images/site\n`,
    [SNAPS(`${R}/images/site`)]: '',
    [`zfs destroy ${R}/images/site`]: '',
    [CHILDREN(`${R}/images`)]: `${R}/images\n`,
    [SNAPS(`${R}/images`)]: '',
    [`zfs destroy ${R}/images`]: '',
  });
  const d = new ZfsDriver({ exec, dataDir: '/data' }, record);
  await assert.rejects(d.receive(Readable.from([Buffer.from('not a zfs stream')]), { dataset: 'images/site/v1', snapshot: 'image' }), /failed to read from stream/);
  assert.deepEqual(calls.filter((c) => !c.startsWith('zfs list')), [
    `zfs create ${R}/images`,
    `zfs create ${R}/images/site`,
    `zfs receive -o cellblock:dataset=images/site/v1 ${target}@image`,
    `zfs receive -A ${target}`,
    `zfs destroy ${R}/images/site`,
    `zfs destroy ${R}/images`,
  ]);
});

test('receive refuses an existing target and a missing parent before reading the stream', async () => {
  const { exec } = scripted({
    [`zfs list -H -p -o name -t snapshot ${R}/a@s1`]: `${R}/a@s1\n`,
    [`zfs list -H -p -o name -t snapshot ${R}/a@s2`]: missing(`${R}/a@s2`),
    [`zfs list -H -p -o name -t snapshot ${R}/a@s0`]: missing(`${R}/a@s0`),
  });
  const d = new ZfsDriver({ exec, dataDir: '/data' }, record);
  const input = Readable.from([Buffer.from('x')]);
  await assert.rejects(d.receive(input, { dataset: 'a', snapshot: 's1' }), ExistsError);
  await assert.rejects(d.receive(input, { dataset: 'a', snapshot: 's2' }, { dataset: 'a', snapshot: 's0' }), NotFoundError);
  assert.equal(input.readableFlowing, null);
});

test('a disk limit is the dataset\'s refquota; its use is what the dataset refers to', async () => {
  const { exec, calls } = scripted({
    [FS(`${R}/jails/web`)]: `${R}/jails/web\tjails/web\toff\n`,
    [`zfs set refquota=1073741824 ${R}/jails/web`]: '',
    [`zfs set refquota=none ${R}/jails/web`]: '',
    [`zfs list -H -p -o name,referenced,refquota -t filesystem ${R}/jails/web`]: [`${R}/jails/web\t98304\t1073741824\n`, `${R}/jails/web\t98304\t0\n`],
    [FS(`${R}/gone`)]: missing(`${R}/gone`),
  });
  const d = new ZfsDriver({ exec, dataDir: '/data' }, record);
  await d.setDiskLimit('jails/web', 1073741824);
  assert.deepEqual(await d.diskUse('jails/web'), { used: 98304, limitBytes: 1073741824 });
  await d.setDiskLimit('jails/web', null);
  assert.deepEqual(await d.diskUse('jails/web'), { used: 98304, limitBytes: null });
  await assert.rejects(d.setDiskLimit('gone', 1), NotFoundError);
  assert.ok(!calls.some((c) => c.includes(`${R}/gone`) && c.startsWith('zfs set')));
});
