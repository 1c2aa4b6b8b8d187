/**
 * `btrfs receive` of one stream as a given snapshot path, all or nothing.
 *
 * The stream's subvolume is renamed (./stream.ts) to a hidden staging name in the final
 * directory, received there with `btrfs receive -e`, and on success renamed to its final
 * name (a read-only subvolume can only be renamed within its directory). The receive
 * counts as a success only when the tool exited 0 *and* the input ended without error;
 * otherwise the tool is killed, the staging subvolume deleted, the input destroyed (so a
 * `btrfs send` feeding it stops instead of waiting forever on a full pipe) and the cause
 * thrown: the input's own error first (it says more than "killed"), then the stream's,
 * then the tool's.
 */
import { mkdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ExistsError, NotFoundError, UserError } from '../../sys/errors.js';
import type { Exec } from '../../sys/exec.js';
import * as argv from './argv.js';
import { isKind, run } from './classify.js';
import { isSubvolume, pathExists, removeEmptyParents, workName } from './layout.js';
import { SendStreamError, SendStreamRenamer } from './stream.js';
import { ended } from '../feed.js';

export async function receiveSnapshot(
  exec: Exec,
  input: Readable,
  finalPath: string,
  /** Directory above which no empty parent is removed on failure. */
  stopAt: string,
  deleteSubvolume: (path: string, what: string) => Promise<void>,
): Promise<void> {
  if (input.destroyed || input.readableEnded) throw new UserError('the stream to receive was already consumed or closed', 'pass a fresh stream');
  const dir = dirname(finalPath);
  const staging = workName('incoming');
  const stagingPath = join(dir, staging);
  const renamer = new SendStreamRenamer(staging);
  const ac = new AbortController();
  let inputError: Error | undefined;
  let streamError: Error | undefined;
  const onInputError = (e: Error) => { inputError ??= e; ac.abort(); };
  const onInputClose = () => { if (!input.readableEnded) { inputError ??= new Error('the stream was closed before its end'); ac.abort(); } };
  const onRenamerError = (e: Error) => { streamError ??= e; ac.abort(); };
  input.on('error', onInputError).on('close', onInputClose);
  renamer.on('error', onRenamerError);
  const inputDone = ended(input);
  inputDone.catch(() => {}); // awaited below; failures are also recorded through onInputError
  try {
    await mkdir(dir, { recursive: true });
    input.pipe(renamer);
    await run(exec, argv.receive(dir, { endMarker: true }), { input: renamer, signal: ac.signal, timeoutMs: 0 });
    // The tool stops at the stream's end marker; the input must still end cleanly (a
    // verifying stream may only fail at its very end).
    renamer.resume();
    await inputDone;
    if (inputError || streamError) throw inputError ?? streamError;
    if (!(await isSubvolume(stagingPath))) throw new Error(`btrfs receive exited 0 but made no subvolume ${stagingPath}`);
    if (await pathExists(finalPath)) throw new ExistsError(`${basename(finalPath)} appeared while receiving`, 'receive again under another name');
    await rename(stagingPath, finalPath);
  } catch (e) {
    ac.abort();
    input.unpipe(renamer);
    renamer.destroy();
    const cleanup: string[] = [];
    try {
      if (await isSubvolume(stagingPath)) await deleteSubvolume(stagingPath, 'the partial receive');
    } catch (ce) {
      cleanup.push(`${stagingPath}: ${(ce as Error).message}`);
    }
    await removeEmptyParents(stopAt, dir).catch((ce: unknown) => { cleanup.push(`${dir}: ${(ce as Error).message}`); });
    const cause = inputError ?? streamError ?? e;
    input.off('error', onInputError).off('close', onInputClose);
    input.on('error', () => { /* destroyed by us after the failure below */ });
    input.destroy();
    if (cleanup.length && cause instanceof Error) cause.message += ` (and the partial receive could not be removed: ${cleanup.join('; ')})`;
    if (cause instanceof SendStreamError) throw new UserError(`cannot receive: ${cause.message}`, 'send the snapshot again and pass the complete stream');
    if (isKind(cause, 'not-found')) throw new NotFoundError(`cannot receive: ${cause.stderr.trim() || cause.message}`, 'receive the snapshot this stream is relative to first, or send a full stream');
    throw cause;
  } finally {
    input.off('error', onInputError).off('close', onInputClose);
    renamer.off('error', onRenamerError);
  }
}
