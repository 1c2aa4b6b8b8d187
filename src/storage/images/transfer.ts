/**
 * Image export and import: the driver's send stream wrapped in the cellblock stream format
 * (stream.ts). Import checks the header before receiving anything, verifies the trailer while
 * receiving, and removes what it received when anything is wrong.
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExecError, ExistsError, NotFoundError, UserError } from '../../sys/errors.js';
import { formatImageRef, type ImageRef } from '../../sys/names.js';
import type { StorageDriver } from '../driver.js';
import { getImage, imageSnapshot, readImage, writeImage, type ImageRecord } from './store.js';
import { decodeHeader, encodeHeader, encodeTrailer, HashingCounter, TrailerVerifier, type StreamHeader } from './stream.js';

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
  onHeader?: (h: StreamHeader) => void;
  onProgress?: (bytes: number) => void;
  now?: () => Date;
}

/** Reads bytes from `input` until the header is complete; returns it and the bytes after it. */
async function readHeader(input: Readable): Promise<{ header: StreamHeader; rest: Buffer }> {
  let buf = Buffer.alloc(0);
  for (;;) {
    const got = decodeHeader(buf);
    if (got) return got;
    const chunk: Buffer | null = input.read();
    if (chunk) { buf = Buffer.concat([buf, chunk]); continue; }
    if (input.readableEnded) throw new UserError('the image stream is truncated: it ends inside its header', 'export the image again');
    await new Promise<void>((resolve, reject) => {
      const done = () => { input.off('readable', done); input.off('end', done); input.off('error', fail); resolve(); };
      const fail = (e: Error) => { input.off('readable', done); input.off('end', done); reject(e); };
      input.once('readable', done);
      input.once('end', done);
      input.once('error', fail);
    });
  }
}

export async function importImage(o: ImportOptions): Promise<ImageRecord> {
  const { header, rest } = await readHeader(o.input);
  o.onHeader?.(header);
  const ref = header.image;
  const fmt = o.driver.info.streamFormat;
  if (header.format !== fmt) {
    throw new UserError(`the stream was exported from a ${header.format} pool; pool ${o.driver.pool.name} (${o.driver.info.name}) reads ${fmt} streams`, 'import it into a pool of the same driver, or rebuild the image from its directory here');
  }
  if (await readImage(o.dataDir, ref)) throw new ExistsError(`image ${formatImageRef(ref)} already exists here`, `nothing to do; to replace it: cellblock image rm ${formatImageRef(ref)}, then import again`);
  if (header.parent) {
    const p = await readImage(o.dataDir, header.parent);
    if (!p || p.pool !== o.driver.pool.name) {
      throw new NotFoundError(`the stream is incremental against ${formatImageRef(header.parent)}, which is not in pool ${o.driver.pool.name}`, `import ${formatImageRef(header.parent)} first, or export a full stream (without --since)`);
    }
  }
  const verifier = new TrailerVerifier(o.onProgress);
  const target = imageSnapshot(ref);
  verifier.write(rest);
  o.input.pipe(verifier);
  o.input.on('error', (e) => verifier.destroy(e));
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
    if (received) await o.driver.destroySnapshot(target).catch(() => {});
    o.input.unpipe(verifier);
    o.input.destroy();
    const streamErr = verifier.errored;
    if (streamErr instanceof UserError) throw streamErr; // the verifier's verdict says more than the tool's
    if (e instanceof ExecError) {
      throw new UserError(`the ${o.driver.info.name} pool refused the stream (corrupted, truncated or interrupted?): ${e.message}`, 'export the image again and import the complete file');
    }
    throw e;
  }
}
