/**
 * Image export and import: the driver's send stream wrapped in the cellblock stream format
 * (stream.ts). Import checks the header before receiving anything, verifies the trailer while
 * receiving, and removes what it received when anything is wrong.
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExecError, ExistsError, NotFoundError, UserError } from '../../sys/errors.js';
import { formatImageRef, type ImageRef } from '../../sys/names.js';
import type { DriverInfo, StorageDriver } from '../driver.js';
import { getImage, imageSnapshot, readImage, writeImage, type ImageRecord } from './store.js';
import { HeaderSplitter, encodeHeader, encodeTrailer, HashingCounter, TrailerVerifier, type StreamHeader } from './stream.js';

export interface ExportOptions {
  dataDir: string;
  driver: StorageDriver;
  ref: ImageRef;
  since?: ImageRef;
  out: Writable;
  /** Called with the payload bytes sent so far. */
  onProgress?: (bytes: number) => void;
}

export interface ExportResult {
  header: StreamHeader;
  payloadBytes: number;
  /** True when --since was given but the driver can only send full streams (dir). */
  fullInsteadOfIncremental: boolean;
}

export async function exportImage(o: ExportOptions): Promise<ExportResult> {
  const rec = await getImage(o.dataDir, o.ref);
  if (rec.pool !== o.driver.pool.name) throw new UserError(`image ${formatImageRef(o.ref)} is in pool ${rec.pool}`, `pass --pool ${rec.pool}`);
  let parent: ImageRecord | undefined;
  if (o.since) {
    parent = await getImage(o.dataDir, o.since);
    if (parent.name === rec.name && parent.tag === rec.tag) throw new UserError('--since names the image being exported', 'give an older tag the receiver already has, or leave --since out for a full stream');
  }
  const incremental = Boolean(parent && o.driver.info.incrementalSend);
  const header: StreamHeader = {
    version: 1,
    kind: 'image',
    format: o.driver.info.streamFormat,
    image: { name: rec.name, tag: rec.tag },
    parent: incremental && parent ? { name: parent.name, tag: parent.tag } : null,
    lineage: rec.parent,
    checksum: 'sha256-trailer',
    createdAt: rec.createdAt,
  };
  const send = o.driver.send(imageSnapshot(o.ref), incremental && parent ? imageSnapshot(parent) : undefined);
  const counter = new HashingCounter(o.onProgress);
  o.out.write(encodeHeader(header));
  try {
    await Promise.all([pipeline(send.stream, counter, o.out, { end: false }), send.done]);
  } catch (e) {
    send.abort();
    throw e;
  }
  await new Promise<void>((resolve, reject) => o.out.write(encodeTrailer(counter.bytes, counter.digest()), (err) => (err ? reject(err) : resolve())));
  return { header, payloadBytes: counter.bytes, fullInsteadOfIncremental: Boolean(parent) && !incremental };
}

export interface ImportOptions {
  dataDir: string;
  driver: StorageDriver;
  input: Readable;
  /** The header and the bytes after it, when the caller has already read them (readImageHeader). */
  head?: StreamHead;
  onHeader?: (h: StreamHeader) => void;
  onProgress?: (bytes: number) => void;
  now?: () => Date;
}

export interface StreamHead {
  header: StreamHeader;
  /** The payload and trailer, everything after the header; it ends when the input ends. */
  payload: Readable;
  /** Stops reading the input (after a refusal). */
  abandon(): void;
}

/**
 * Reads the header at the start of `input`. The input is piped through a HeaderSplitter from
 * its first byte, so its end always reaches the payload stream: reading the header by hand
 * and piping afterwards would lose an 'end' emitted in between (and the receive would wait
 * forever for a stream that already ended).
 */
export function readImageHeader(input: Readable): Promise<StreamHead> {
  const splitter = new HeaderSplitter();
  const abandon = () => { input.unpipe(splitter); input.destroy(); splitter.destroy(); };
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => { splitter.off('header', done); abandon(); reject(e); };
    const done = (header: StreamHeader) => { splitter.off('error', fail); resolve({ header, payload: splitter, abandon }); };
    splitter.once('header', done);
    splitter.once('error', fail);
    input.on('error', (e) => splitter.destroy(e));
    input.pipe(splitter);
  });
}

/**
 * The refusals of an import that need only the header and the records: a stream of another
 * driver's format, an image that exists, a missing parent. Run before anything is received
 * (and by the CLI before the default pool is created for the stream).
 */
export async function checkImport(dataDir: string, header: StreamHeader, pool: string, info: DriverInfo): Promise<void> {
  const ref = header.image;
  if (header.format !== info.streamFormat) {
    throw new UserError(`the stream was exported from a ${header.format} pool; pool ${pool} (${info.name}) reads ${info.streamFormat} streams`, 'import it into a pool of the same driver, or rebuild the image from its directory here');
  }
  if (await readImage(dataDir, ref)) throw new ExistsError(`image ${formatImageRef(ref)} already exists here`, `nothing to do; to replace it: cellblock image rm ${formatImageRef(ref)}, then import again`);
  if (header.parent) {
    const p = await readImage(dataDir, header.parent);
    if (!p || p.pool !== pool) {
      throw new NotFoundError(`the stream is incremental against ${formatImageRef(header.parent)}, which is not in pool ${pool}`, `import ${formatImageRef(header.parent)} first, or export a full stream (without --since)`);
    }
  }
}

export async function importImage(o: ImportOptions): Promise<ImageRecord> {
  const head = o.head ?? (await readImageHeader(o.input));
  const { header } = head;
  o.onHeader?.(header);
  const ref = header.image;
  try {
    await checkImport(o.dataDir, header, o.driver.pool.name, o.driver.info);
  } catch (e) {
    head.abandon();
    throw e;
  }
  const verifier = new TrailerVerifier(o.onProgress);
  // A short stream can end, and the verifier give its verdict, before the driver listens (it
  // checks its pool first): the verdict is kept in verifier.errored and reported below, so an
  // 'error' event with no listener yet must not crash the process.
  verifier.on('error', () => undefined);
  const target = imageSnapshot(ref);
  head.payload.on('error', (e) => verifier.destroy(e));
  head.payload.pipe(verifier);
  let received = false;
  try {
    await o.driver.receive(verifier, target, header.parent ? imageSnapshot(header.parent) : undefined);
    received = true;
    // The tool may stop reading at its own end marker, before our trailer was checked:
    // drain what is left and wait for the verifier's verdict.
    if (!verifier.verified && !verifier.errored && !verifier.readableEnded) {
      await new Promise<void>((resolve, reject) => {
        verifier.once('end', resolve).once('error', reject);
        verifier.resume();
      });
    }
    if (verifier.errored) throw verifier.errored;
    if (!verifier.verified) throw new UserError('the image stream is truncated or corrupted', 'export the image again');
    const rec: ImageRecord = {
      name: ref.name,
      tag: ref.tag,
      pool: o.driver.pool.name,
      parent: header.lineage,
      createdAt: header.createdAt,
      origin: 'import',
    };
    await writeImage(o.dataDir, rec);
    return rec;
  } catch (e) {
    let leftover = '';
    if (received) {
      await o.driver.destroySnapshot(target).catch((ce: unknown) => {
        // no logger here: the error thrown below carries it
        leftover = ` (and the received snapshot ${target.dataset}@${target.snapshot} could not be removed: ${(ce as Error).message})`;
      });
    }
    head.payload.unpipe(verifier);
    head.abandon();
    const streamErr = verifier.errored;
    let out: unknown = e;
    if (streamErr instanceof UserError) out = streamErr; // the verifier's verdict says more than the tool's
    else if (e instanceof ExecError) {
      out = new UserError(`the ${o.driver.info.name} pool refused the stream (corrupted, truncated or interrupted?): ${e.message}`, 'export the image again and import the complete file');
    }
    if (leftover && out instanceof Error) out.message += leftover;
    throw out;
  }
}
