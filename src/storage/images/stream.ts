/**
 * The image stream format (`image export` / `image import`), version 1:
 *
 *   "CBSTRM01"                  8 bytes magic
 *   header length               4 bytes, big-endian
 *   header                      JSON (StreamHeader), at most 64 KiB
 *   payload                     the driver's own stream (btrfs send, zfs send, tar)
 *   "CBEND001"                  8 bytes trailer magic
 *   payload length              8 bytes, big-endian
 *   sha256 of the payload       32 bytes
 *
 * The checksum sits in a trailer, not the header, because the payload is produced on the fly
 * by the sending tool and is never held in memory or on disk. A receiver hashes while it
 * receives and refuses the stream (removing what it received) when the trailer is missing
 * (truncated), its length or hash differ (corrupted), or the header is not ours.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { z } from 'zod';
import { UserError } from '../../sys/errors.js';
import { NAME_RE } from '../../sys/names.js';

export const STREAM_MAGIC = Buffer.from('CBSTRM01');
export const TRAILER_MAGIC = Buffer.from('CBEND001');
export const TRAILER_SIZE = 8 + 8 + 32;
export const MAX_HEADER = 64 * 1024;
export const STREAM_VERSION = 1;
/** Stream buffers of 1 MiB: send streams are large, and Node's 16 KiB default costs throughput. */
export const STREAM_HWM = 1024 * 1024;

const name = z.string().regex(NAME_RE);
const imageRef = z.strictObject({ name, tag: name });

export const StreamHeaderSchema = z.strictObject({
  version: z.literal(STREAM_VERSION),
  kind: z.literal('image'),
  format: z.enum(['btrfs-send', 'zfs-send', 'tar']),
  image: imageRef,
  /** The image this stream is relative to; the receiver must have it. null = a full stream. */
  parent: imageRef.nullable(),
  /** The parent the image was built from, kept in the receiver's record even for a full stream. */
  lineage: imageRef.nullable(),
  checksum: z.literal('sha256-trailer'),
  createdAt: z.string(),
});
export type StreamHeader = z.infer<typeof StreamHeaderSchema>;

export function encodeHeader(h: StreamHeader): Buffer {
  const json = Buffer.from(JSON.stringify(StreamHeaderSchema.parse(h)));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([STREAM_MAGIC, len, json]);
}

/**
 * Decodes the header at the start of `buf`. Returns undefined when more bytes are needed;
 * throws a UserError when the bytes are not a cellblock image stream of this version.
 */
export function decodeHeader(buf: Buffer): { header: StreamHeader; rest: Buffer } | undefined {
  const notOurs = () => new UserError('this is not a cellblock image stream (bad magic bytes)', 'import a file made by: cellblock image export NAME:TAG -o FILE');
  const n = Math.min(buf.length, STREAM_MAGIC.length);
  if (!buf.subarray(0, n).equals(STREAM_MAGIC.subarray(0, n))) throw notOurs();
  if (buf.length < STREAM_MAGIC.length + 4) return undefined;
  const len = buf.readUInt32BE(STREAM_MAGIC.length);
  if (len === 0 || len > MAX_HEADER) throw new UserError(`image stream header is ${len} bytes, outside 1..${MAX_HEADER}: the stream is corrupted`, 'export the image again');
  const end = STREAM_MAGIC.length + 4 + len;
  if (buf.length < end) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(buf.subarray(STREAM_MAGIC.length + 4, end).toString('utf8'));
  } catch {
    throw new UserError('image stream header is not valid JSON: the stream is corrupted', 'export the image again');
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (version !== STREAM_VERSION) {
    throw new UserError(`image stream format version ${JSON.stringify(version)} is not supported (this cellblock reads version ${STREAM_VERSION})`, 'export it with the same cellblock version as the importing host');
  }
  const parsed = StreamHeaderSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`image stream header is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`, 'export the image again');
  }
  return { header: parsed.data, rest: buf.subarray(end) };
}

export function encodeTrailer(length: number, sha256: Buffer): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(length));
  return Buffer.concat([TRAILER_MAGIC, len, sha256]);
}

/** Counts and hashes what passes through (the sending side). */
export class HashingCounter extends Transform {
  private hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onBytes?: (total: number) => void) {
    super({ highWaterMark: STREAM_HWM });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

/**
 * The receiving side: passes the payload through while holding back the last TRAILER_SIZE
 * bytes, hashing what it passes. At the end it checks the trailer and fails the stream
 * (before signalling end to the consumer) if it is missing or does not match.
 */
export class TrailerVerifier extends Transform {
  private hash = createHash('sha256');
  private tail = Buffer.alloc(0);
  bytes = 0;
  verified = false;
  constructor(private readonly onBytes?: (total: number) => void) {
    super({ highWaterMark: STREAM_HWM });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.tail.length + chunk.length <= TRAILER_SIZE) {
      this.tail = Buffer.concat([this.tail, chunk]);
      return cb();
    }
    // pass on everything but the last TRAILER_SIZE bytes without copying the (large) chunk
    const keepFromChunk = Math.min(chunk.length, TRAILER_SIZE);
    const fromTail = TRAILER_SIZE - keepFromChunk; // bytes of the old tail that stay in the tail
    const outTail = this.tail.subarray(0, this.tail.length - fromTail);
    const outChunk = chunk.subarray(0, chunk.length - keepFromChunk);
    this.tail = Buffer.concat([this.tail.subarray(this.tail.length - fromTail), chunk.subarray(chunk.length - keepFromChunk)]);
    for (const part of [outTail, outChunk]) {
      if (part.length === 0) continue;
      this.hash.update(part);
      this.bytes += part.length;
      this.push(part);
    }
    this.onBytes?.(this.bytes);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    const problem = checkTrailer(this.tail, this.bytes, this.hash.digest());
    if (problem) return cb(problem);
    this.verified = true;
    cb();
  }
}

export function checkTrailer(tail: Buffer, bytes: number, digest: Buffer): UserError | undefined {
  if (tail.length < TRAILER_SIZE || !tail.subarray(0, 8).equals(TRAILER_MAGIC)) {
    return new UserError('the image stream is truncated: it ends before its trailer (interrupted export or copy?)', 'export the image again and make sure the whole file arrives');
  }
  const len = Number(tail.readBigUInt64BE(8));
  if (len !== bytes) {
    return new UserError(`the image stream is corrupted: its trailer announces ${len} payload bytes, ${bytes} arrived`, 'export the image again');
  }
  if (!tail.subarray(16).equals(digest)) {
    return new UserError('the image stream is corrupted: sha256 checksum mismatch', 'export the image again and copy it intact');
  }
  return undefined;
}

/**
 * The first stage of receiving: parses the header from the first bytes, emits it as a
 * 'header' event, then passes the payload through. Piped from the input's first byte, so the
 * input's end always reaches the consumer (reading the header by hand and piping afterwards
 * loses an 'end' that was emitted in between).
 */
export class HeaderSplitter extends Transform {
  private buf: Buffer | null = Buffer.alloc(0);
  header: StreamHeader | undefined;

  constructor() {
    super({ highWaterMark: STREAM_HWM });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.buf === null) return cb(null, chunk);
    this.buf = Buffer.concat([this.buf, chunk]);
    let got;
    try {
      got = decodeHeader(this.buf);
    } catch (e) {
      return cb(e as Error);
    }
    if (!got) return cb();
    this.buf = null;
    this.header = got.header;
    this.emit('header', got.header);
    cb(null, got.rest.length ? got.rest : undefined);
  }

  override _flush(cb: TransformCallback): void {
    if (this.buf !== null) return cb(new UserError('the image stream is truncated: it ends inside its header', 'export the image again'));
    cb();
  }
}
