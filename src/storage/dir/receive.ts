/**
 * Receiving a tar stream into a fresh directory, all or nothing.
 *
 * `tar --extract` runs into a staging directory the caller then renames into place. It
 * counts as a success only when tar exited 0, the input ended without error, and the stream
 * ended with tar's end-of-archive marker (two zero blocks: GNU tar stops silently at a
 * stream cut between two members, so tar's exit code alone does not catch a truncation).
 * Otherwise tar is killed, the staging directory removed and the cause thrown: the input's
 * own error first (it says more than "killed"), then ours, then tar's.
 */
import { mkdir } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { UserError } from '../../sys/errors.js';
import { feedExec } from '../feed.js';
import type { Exec } from '../../sys/exec.js';
import * as argv from './argv.js';
import { classify, isKind } from './classify.js';
import { removeTree } from './tree.js';


/** Two 512-byte zero blocks end every tar archive. */
const END_MARKER = 1024;

/** Passes bytes through and remembers whether the last END_MARKER of them are all zero. */
class TailCheck extends Transform {
  private tail = Buffer.alloc(0);
  total = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.total += chunk.length;
    this.tail = Buffer.concat([this.tail, chunk.subarray(Math.max(0, chunk.length - END_MARKER))]);
    if (this.tail.length > END_MARKER) this.tail = this.tail.subarray(this.tail.length - END_MARKER);
    cb(null, chunk);
  }
  endsWithMarker(): boolean {
    return this.tail.length === END_MARKER && this.tail.every((b) => b === 0);
  }
}

/** Extracts `input` into `staging` (created here, must not exist); on failure removes it and throws. */
export async function receiveTar(exec: Exec, input: Readable, staging: string, what: string): Promise<void> {
  const check = new TailCheck();
  try {
    await mkdir(staging, { recursive: false, mode: 0o700 });
    await feedExec(exec, input, argv.tarExtract(staging), check);
    if (!check.endsWithMarker()) {
      throw new UserError(`cannot receive ${what}: the tar stream is truncated (${check.total} bytes, without tar's end-of-archive marker)`, 'send the snapshot again and pass the complete stream');
    }
  } catch (e) {
    let cause: unknown = classify(e);
    if (isKind(cause, 'bad-input')) {
      cause = new UserError(`cannot receive ${what}: the stream is not a complete tar archive (${cause.stderr.trim().split('\n')[0]})`, 'send the snapshot again and pass the complete stream');
    }
    try {
      await removeTree(exec, staging, { frozen: false });
    } catch (ce) {
      if (cause instanceof Error) cause.message += ` (and the partial receive ${staging} could not be removed: ${(ce as Error).message})`;
    }
    throw cause;
  }
}
