/**
 * Feeding a stream to a receiving tool (`tar --extract`, `zfs receive`), with the rules every
 * driver's receive needs:
 * - the tool's success counts only if the input also ended cleanly: a tool may stop reading at
 *   its own end marker, while a verifying stream may only fail at its very end, so the rest of
 *   the input is drained and its end awaited;
 * - an input error (or a close before the end) kills the tool at once and is what is thrown:
 *   it says more than "killed".
 */
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { UserError } from '../sys/errors.js';
import type { Exec, ExecOptions } from '../sys/exec.js';

/** Resolves when `s` has ended; rejects when it errors or closes before its end. */
export function ended(s: Readable): Promise<void> {
  if (s.readableEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = () => { s.off('end', onEnd); s.off('error', onError); s.off('close', onClose); };
    const onEnd = () => { cleanup(); resolve(); };
    const onError = (e: Error) => { cleanup(); reject(e); };
    const onClose = () => { cleanup(); if (s.readableEnded) resolve(); else reject(new Error('the stream was closed before its end')); };
    s.on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/**
 * Runs `argv` with `input` on its stdin (through `through`, if given), then drains the rest of
 * the input. Throws the input's error first, else the tool's (as `run` throws it).
 */
export async function feedTool(
  input: Readable,
  argv: readonly string[],
  run: (argv: readonly string[], opts: ExecOptions) => Promise<unknown>,
  through: Transform = new PassThrough(),
): Promise<void> {
  if (input.destroyed || input.readableEnded) throw new UserError('the stream to receive was already consumed or closed', 'pass a fresh stream');
  const ac = new AbortController();
  let inputError: Error | undefined;
  const fail = (e: Error) => { inputError ??= e; ac.abort(); through.destroy(e); };
  const onInputError = (e: Error) => fail(e);
  const onInputClose = () => { if (!input.readableEnded) fail(new Error('the stream was closed before its end')); };
  input.on('error', onInputError).on('close', onInputClose);
  const throughEnded = ended(through);
  throughEnded.catch(() => {}); // awaited below
  try {
    input.pipe(through);
    await run(argv, { input: through, signal: ac.signal, timeoutMs: 0 });
    // the tool may have stopped reading before the end (tar at its end-of-archive marker):
    // detach whatever still pipes `through` into its closed stdin, then drain the rest
    through.unpipe();
    through.resume();
    await throughEnded;
    if (inputError) throw inputError;
  } catch (e) {
    ac.abort();
    input.unpipe(through);
    through.destroy();
    throw inputError ?? e;
  } finally {
    input.off('error', onInputError).off('close', onInputClose);
  }
}

/** `feedTool` with a plain exec. */
export function feedExec(exec: Exec, input: Readable, argv: readonly string[], through?: Transform): Promise<void> {
  return feedTool(input, argv, (a, o) => exec(a, o), through);
}
