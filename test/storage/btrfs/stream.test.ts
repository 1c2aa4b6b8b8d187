// The send-stream rename on a real stream captured from btrfs-progs 6.2 (test/fixtures/btrfs/send-full-v1.stream).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { crc32c, headLength, renameHead, SendStreamError, SendStreamRenamer } from '../../../src/storage/btrfs/stream.js';

const STREAM = readFileSync(fileURLToPath(new URL('../../../../test/fixtures/btrfs/send-full-v1.stream', import.meta.url)));

async function collect(chunks: Buffer[], name: string): Promise<{ out: Buffer; renamer: SendStreamRenamer }> {
  const renamer = new SendStreamRenamer(name);
  const parts: Buffer[] = [];
  Readable.from(chunks).pipe(renamer);
  for await (const c of renamer) parts.push(c as Buffer);
  return { out: Buffer.concat(parts), renamer };
}

test('crc32c matches the checksum btrfs send wrote', () => {
  const len = STREAM.readUInt32LE(17);
  const cmd = Buffer.from(STREAM.subarray(17, 17 + 10 + len));
  const want = cmd.readUInt32LE(6);
  cmd.writeUInt32LE(0, 6);
  assert.equal(crc32c(0, cmd), want);
  // with the usual pre- and post-inversion it is standard CRC-32C: check value 0xe3069283
  assert.equal(~crc32c(0xffffffff, Buffer.from('123456789')) >>> 0, 0xe3069283);
});

test('renameHead renames the subvolume and keeps everything else', () => {
  const n = headLength(STREAM)!;
  const { head, oldName } = renameHead(STREAM.subarray(0, n), '.incoming-0123456789abcdef');
  assert.equal(oldName, 'db@nightly');
  // the new head is itself valid and names the new subvolume
  assert.equal(renameHead(head, 'x').oldName, '.incoming-0123456789abcdef');
  assert.equal(head.length, n + '.incoming-0123456789abcdef'.length - 'db@nightly'.length);
  assert.deepEqual(head.subarray(0, 17), STREAM.subarray(0, 17));
});

test('the renamer gives the same bytes whether the stream comes whole or a byte at a time', async () => {
  const whole = await collect([STREAM], '.incoming-a');
  const bytes = await collect([...STREAM].map((b) => Buffer.from([b])), '.incoming-a');
  assert.deepEqual(bytes.out, whole.out);
  assert.equal(whole.renamer.oldName, 'db@nightly');
  const n = headLength(STREAM)!;
  assert.deepEqual(whole.out.subarray(whole.out.length - (STREAM.length - n)), STREAM.subarray(n), 'the commands after the first are untouched');
});

test('the renamer refuses what is not a send stream', async () => {
  const refuse = async (chunks: Buffer[], re: RegExp) => assert.rejects(collect(chunks, '.x'), (e: unknown) => e instanceof SendStreamError && re.test(e.message));
  await refuse([], /empty/);
  await refuse([STREAM.subarray(0, 20)], /truncated inside its first command/);
  await refuse([Buffer.from('this is a tar file, not a btrfs stream at all')], /bad magic/);
  const corrupt = Buffer.from(STREAM);
  corrupt[17 + 12] ^= 0xff; // a byte of the first command's payload
  await refuse([corrupt], /checksum mismatch/);
  const huge = Buffer.from(STREAM);
  huge.writeUInt32LE(1 << 30, 17);
  await refuse([huge], /first command of/);
});
