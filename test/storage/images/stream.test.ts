import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  decodeHeader, encodeHeader, encodeTrailer, HashingCounter, TrailerVerifier, STREAM_MAGIC, TRAILER_SIZE, type StreamHeader,
} from '../../../src/storage/images/stream.js';
import { UserError } from '../../../src/sys/errors.js';

const header: StreamHeader = {
  version: 1, kind: 'image', format: 'btrfs-send', image: { name: 'site', tag: 'v2' }, parent: { name: 'site', tag: 'v1' },
  lineage: { name: 'site', tag: 'v1' }, checksum: 'sha256-trailer', createdAt: '2026-11-25T00:00:00.000Z',
};

test('header round-trips and leaves the rest', () => {
  const buf = Buffer.concat([encodeHeader(header), Buffer.from('payload')]);
  const got = decodeHeader(buf);
  assert.ok(got);
  assert.deepEqual(got.header, header);
  assert.equal(got.rest.toString(), 'payload');
});

test('header decoding asks for more bytes until complete', () => {
  const enc = encodeHeader(header);
  for (const n of [0, 3, 8, 11, enc.length - 1]) assert.equal(decodeHeader(enc.subarray(0, n)), undefined, `at ${n}`);
  assert.ok(decodeHeader(enc));
});

test('foreign bytes, other versions and bad fields are refused with a reason', () => {
  assert.throws(() => decodeHeader(Buffer.from('BTRFS-STREAM....')), (e: unknown) => e instanceof UserError && /not a cellblock image stream/.test(e.message));
  const v2 = Buffer.from(JSON.stringify({ ...header, version: 2 }));
  const len = Buffer.alloc(4); len.writeUInt32BE(v2.length);
  assert.throws(() => decodeHeader(Buffer.concat([STREAM_MAGIC, len, v2])), /version 2 is not supported/);
  const bad = Buffer.from(JSON.stringify({ ...header, image: { name: '../etc', tag: 'v1' } }));
  len.writeUInt32BE(bad.length);
  assert.throws(() => decodeHeader(Buffer.concat([STREAM_MAGIC, len, bad])), /header is invalid at image.name/);
  const extra = Buffer.from(JSON.stringify({ ...header, surprise: 1 }));
  len.writeUInt32BE(extra.length);
  assert.throws(() => decodeHeader(Buffer.concat([STREAM_MAGIC, len, extra])), /header is invalid/);
  len.writeUInt32BE(10 * 1024 * 1024);
  assert.throws(() => decodeHeader(Buffer.concat([STREAM_MAGIC, len])), /outside 1\.\./);
  const junk = Buffer.from('{not json');
  len.writeUInt32BE(junk.length);
  assert.throws(() => decodeHeader(Buffer.concat([STREAM_MAGIC, len, junk])), /not valid JSON/);
});

async function verify(chunks: Buffer[]): Promise<{ out: Buffer; v: TrailerVerifier; error?: unknown }> {
  const v = new TrailerVerifier();
  const got: Buffer[] = [];
  const sink = new Writable({ write(c, _e, cb) { got.push(c); cb(); } });
  try {
    await pipeline(Readable.from(chunks), v, sink);
    return { out: Buffer.concat(got), v };
  } catch (error) {
    return { out: Buffer.concat(got), v, error };
  }
}

function framed(payload: Buffer): Buffer {
  return Buffer.concat([payload, encodeTrailer(payload.length, createHash('sha256').update(payload).digest())]);
}

test('the verifier passes the payload through and accepts a good trailer, whatever the chunking', async () => {
  const payload = Buffer.from('x'.repeat(1000) + 'end');
  const whole = framed(payload);
  for (const size of [1, 7, 47, 48, 49, 500, whole.length]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < whole.length; i += size) chunks.push(whole.subarray(i, i + size));
    const { out, v, error } = await verify(chunks);
    assert.equal(error, undefined, `chunk size ${size}`);
    assert.ok(v.verified);
    assert.deepEqual(out, payload);
  }
});

test('an empty payload with its trailer is fine', async () => {
  const { error, v } = await verify([framed(Buffer.alloc(0))]);
  assert.equal(error, undefined);
  assert.ok(v.verified);
});

test('truncation, a flipped byte and a wrong length are each refused', async () => {
  const payload = Buffer.from('hello world, this is a payload');
  const good = framed(payload);
  const truncated = await verify([good.subarray(0, good.length - 10)]);
  assert.match(String((truncated.error as Error).message), /truncated/);
  assert.equal(truncated.v.verified, false);
  const flipped = Buffer.from(good); flipped[3] = flipped[3]! ^ 0xff;
  assert.match(String(((await verify([flipped])).error as Error).message), /checksum mismatch/);
  const wrongLen = Buffer.concat([payload, encodeTrailer(payload.length + 1, createHash('sha256').update(payload).digest())]);
  assert.match(String(((await verify([wrongLen])).error as Error).message), /announces 31 payload bytes, 30 arrived/);
  assert.match(String(((await verify([Buffer.alloc(TRAILER_SIZE - 1)])).error as Error).message), /truncated/);
});

test('the sender-side counter hashes what the verifier expects', async () => {
  const c = new HashingCounter();
  const seen: number[] = [];
  const c2 = new HashingCounter((n) => seen.push(n));
  await pipeline(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), c, c2, new Writable({ write(_c, _e, cb) { cb(); } }));
  assert.equal(c.bytes, 4);
  assert.deepEqual(c.digest(), createHash('sha256').update('abcd').digest());
  assert.deepEqual(seen, [2, 4]);
});
