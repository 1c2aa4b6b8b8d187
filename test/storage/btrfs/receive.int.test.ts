// btrfs send/receive between two real loop pools (root only): full, incremental, renamed, and
// every way a receive can fail, each of which must leave nothing behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { btrfsDriver } from '../../../src/storage/btrfs/index.js';
import type { PoolRecord, StorageDriver } from '../../../src/storage/driver.js';
import { ExecError, ExistsError, NotFoundError, UserError } from '../../../src/sys/errors.js';
import { exec } from '../../../src/sys/exec.js';
import type { SnapshotRef } from '../../../src/sys/names.js';
import { cleanupDataDir, subvolumesOf, treeOf } from '../../helpers/loop-pools.js';

const skip = process.getuid?.() !== 0 && 'needs root';
const MiB = 1024 ** 2;
const S1: SnapshotRef = { dataset: 'data/app', snapshot: 's1' };
const S2: SnapshotRef = { dataset: 'data/app', snapshot: 's2' };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('btrfs send and receive', { skip }, () => {
  let dataDir: string;
  const records: PoolRecord[] = [];
  let src: StorageDriver;
  let dst: StorageDriver;
  let full: Buffer;
  let incremental: Buffer;
  const ctx = () => ({ exec, dataDir });

  async function sendAll(ref: SnapshotRef, parent?: SnapshotRef): Promise<Buffer> {
    const s = src.send(ref, parent);
    const [buf] = await Promise.all([readAll(s.stream), s.done]);
    return buf;
  }

  /** What must be the same after a refused receive: the subvolumes and every name in the pool. */
  async function dstState() {
    return { subs: await subvolumesOf(dst.pool.mountpoint), tree: await treeOf(dst.pool.mountpoint) };
  }

  async function refused(start: () => Promise<unknown>, check: (e: unknown) => boolean) {
    const before = await dstState();
    await assert.rejects(start(), (e: unknown) => { assert.ok(check(e), `unexpected error: ${String((e as Error)?.stack ?? e)}`); return true; });
    assert.deepEqual(await dstState(), before, 'a refused receive leaves nothing behind');
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cellblock-btrfs-recv-'));
    for (const name of ['src', 'dst']) records.push(await btrfsDriver.createPool(ctx(), { name, size: 512 * MiB }));
    src = await btrfsDriver.open(ctx(), records[0]!);
    dst = await btrfsDriver.open(ctx(), records[1]!);
    await src.createDataset('data/app');
    const head = src.datasetPath('data/app');
    await writeFile(join(head, 'big'), randomBytes(4 * MiB));
    await writeFile(join(head, 'f'), 'one');
    await src.createSnapshot(S1);
    await writeFile(join(head, 'f'), 'two');
    await src.createSnapshot(S2);
    full = await sendAll(S1);
    incremental = await sendAll(S2, S1);
  });

  after(async () => {
    try {
      for (const r of records) await btrfsDriver.destroyPool(ctx(), r);
    } finally {
      await cleanupDataDir(dataDir);
    }
  });

  test('an incremental stream is small; one whose parent is not here is refused', async () => {
    assert.ok(full.length > 4 * MiB, `full stream: ${full.length} bytes`);
    assert.ok(incremental.length < 64 * 1024, `incremental stream: ${incremental.length} bytes`);
    await refused(() => dst.receive(Readable.from([incremental]), { dataset: 'x', snapshot: 'y' }), (e) => e instanceof NotFoundError && /parent/.test(e.message));
  });

  test('a receive that fails while piped from send stops the sender too', async () => {
    await src.createDataset('big');
    await src.createSnapshot({ dataset: 'big', snapshot: 'b1' });
    await writeFile(join(src.datasetPath('big'), 'data'), randomBytes(8 * MiB));
    await src.createSnapshot({ dataset: 'big', snapshot: 'b2' });
    // dst does not have big@b1: btrfs receive stops at once, with megabytes still to come
    const s = src.send({ dataset: 'big', snapshot: 'b2' }, { dataset: 'big', snapshot: 'b1' });
    await refused(() => dst.receive(s.stream, { dataset: 'big', snapshot: 'b2' }), (e) => e instanceof NotFoundError);
    await assert.rejects(s.done, ExecError, 'the sender was stopped, not left blocked on a full pipe');
  });

  test('a truncated stream leaves no subvolume behind', async () => {
    await refused(() => dst.receive(Readable.from([full.subarray(0, full.length >> 1)]), S1), (e) => e instanceof ExecError);
    // cut exactly before the end marker (the last 10-byte command): the tool must not take it as complete
    await refused(() => dst.receive(Readable.from([full.subarray(0, full.length - 10)]), S1), (e) => e instanceof ExecError && /unexpected EOF/.test(e.stderr));
    await refused(() => dst.receive(Readable.from([full.subarray(0, 20)]), S1), (e) => e instanceof UserError && /truncated/.test(e.message));
    await refused(() => dst.receive(Readable.from([]), S1), (e) => e instanceof UserError && /empty/.test(e.message));
  });

  test('a corrupted stream leaves no subvolume behind', async () => {
    const bad = Buffer.from(full);
    for (let i = full.length >> 1; i < (full.length >> 1) + 16; i++) bad[i] ^= 0x5a;
    await refused(() => dst.receive(Readable.from([bad]), S1), (e) => e instanceof ExecError);
    await refused(() => dst.receive(Readable.from([Buffer.from('not a btrfs stream, just text that goes on for a while')]), S1), (e) => e instanceof UserError && /not a btrfs send stream/.test(e.message));
  });

  /** A stream that gives `data`, then after `ms` is destroyed (with `err`, or without an error). */
  function failingInput(data: Buffer, ms: number, err?: Error): PassThrough {
    const input = new PassThrough();
    input.write(data);
    setTimeout(() => input.destroy(err), ms);
    return input;
  }

  test('an input stream that fails half-way stops the receive and leaves nothing', async () => {
    const half = full.subarray(0, full.length >> 1);
    await refused(() => dst.receive(failingInput(half, 100, new Error('connection reset by the sender')), S1), (e) => e instanceof Error && e.message === 'connection reset by the sender');
    await refused(() => dst.receive(failingInput(half, 100), S1), (e) => e instanceof Error && /closed before its end/.test(e.message));
  });

  test('an input that fails after the tool finished (a bad trailer) still leaves nothing', async () => {
    await refused(() => dst.receive(failingInput(full, 300, new Error('checksum trailer mismatch')), S1), (e) => e instanceof Error && e.message === 'checksum trailer mismatch');
  });

  test('a full stream, piped straight from send, arrives read-only with the same contents', async () => {
    const s = src.send(S1);
    const [info] = await Promise.all([dst.receive(s.stream, S1), s.done]);
    assert.equal(info.path, join(dst.pool.mountpoint, '.snapshots', 'data', 'app@s1'));
    assert.equal(info.dataset, 'data/app');
    assert.equal(info.name, 's1');
    assert.equal(await readFile(join(info.path, 'f'), 'utf8'), 'one');
    assert.deepEqual(await readFile(join(info.path, 'big')), await readFile(join(src.snapshotPath(S1), 'big')));
    await assert.rejects(writeFile(join(info.path, 'f'), 'x'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
    assert.equal(await dst.datasetExists('data/app'), false, 'the head need not exist');
    assert.deepEqual((await dst.listSnapshots()).map((x) => `${x.dataset}@${x.name}`), ['data/app@s1']);
  });

  test('receive refuses an existing target and a missing parent before starting', async () => {
    await refused(() => dst.receive(Readable.from([full]), S1), (e) => e instanceof ExistsError);
    await refused(() => dst.receive(Readable.from([incremental]), S2, { dataset: 'data/app', snapshot: 'nope' }), (e) => e instanceof NotFoundError && /nope/.test(e.message));
  });

  test('an incremental stream applies on the received parent', async () => {
    const info = await dst.receive(Readable.from([incremental]), S2, S1);
    assert.equal(await readFile(join(info.path, 'f'), 'utf8'), 'two');
    assert.deepEqual(await readFile(join(info.path, 'big')), await readFile(join(src.snapshotPath(S1), 'big')));
    assert.deepEqual((await dst.listSnapshots('data/app')).map((x) => x.name), ['s1', 's2']);
    // and the received snapshots are as good as local ones: clone, usage, send onwards
    const c = await dst.clone(S2, 'data/app');
    assert.equal(await readFile(join(c.path, 'f'), 'utf8'), 'two');
    assert.ok((await dst.usage(S2)).referenced >= 4 * MiB);
    const again = dst.send(S2, S1);
    const [buf] = await Promise.all([readAll(again.stream), again.done]);
    assert.ok(buf.length < 64 * 1024);
  });

  test('a stream can be received under another name', async () => {
    const info = await dst.receive(Readable.from([full]), { dataset: 'backup/app', snapshot: 'monday' });
    assert.equal(info.path, join(dst.pool.mountpoint, '.snapshots', 'backup', 'app@monday'));
    assert.equal(await readFile(join(info.path, 'f'), 'utf8'), 'one');
    const inc = await dst.receive(Readable.from([incremental]), { dataset: 'backup/app', snapshot: 'tuesday' }, { dataset: 'backup/app', snapshot: 'monday' });
    assert.equal(await readFile(join(inc.path, 'f'), 'utf8'), 'two');
  });

  test('send refuses a missing snapshot at once, and abort stops the tool', async () => {
    assert.throws(() => src.send({ dataset: 'data/app', snapshot: 'nope' }), NotFoundError);
    assert.throws(() => src.send(S2, { dataset: 'data/app', snapshot: 'nope' }), NotFoundError);
    const s = src.send(S1);
    s.stream.once('data', () => s.abort());
    s.stream.resume();
    await assert.rejects(s.done, ExecError);
  });
});
