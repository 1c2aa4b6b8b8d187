import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { byteProgress, type Progress } from '../../progress.js';
import { openPool } from '../../../storage/pools.js';
import { getImage, imageSnapshot } from '../../../storage/images/store.js';
import { exportImage } from '../../../storage/images/transfer.js';
import { formatImageRef, parseImageRef } from '../../../sys/names.js';
import { formatSize } from '../../../sys/size.js';
import { UserError } from '../../../sys/errors.js';

/** Opens FILE.partial for writing, refusing a FILE that is a directory or cannot be written. */
async function openOutput(file: string): Promise<WriteStream> {
  // a file that does not exist yet is the usual case; any other problem shows when it is opened below
  if ((await stat(file).catch(() => undefined))?.isDirectory()) throw new UserError(`${file} is a directory`, 'give a file name for the stream, for example site-v1.cbi');
  const partial = `${file}.partial`;
  const out = createWriteStream(partial, { mode: 0o600 });
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => { out.off('error', reject); resolve(); });
    out.once('error', reject);
  }).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`cannot write ${partial}: ${e.code ?? e.message}`, 'give a file in an existing directory you can write to, or - for standard output');
  });
  return out;
}

/** A reader of standard output that stops early (`| head`, a failed ssh) is the user's to fix, not a bug. */
function closedEarly(e: unknown): unknown {
  if ((e as NodeJS.ErrnoException | null)?.code !== 'EPIPE') return e;
  return new UserError('standard output was closed before the whole stream was written (the reading command stopped?)', 'check the command the stream is piped into, then export again');
}

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('export')
    .description('write an image as a stream (btrfs send, zfs send, or tar for dir pools) with a header and a sha256 trailer')
    .argument('<image>', 'NAME:TAG to export')
    .option('--since <image>', 'send only the difference from this older image, which the receiver must have')
    .requiredOption('-o, --output <file>', 'file to write, or - for standard output')
    .addHelpText('after', '\nExamples:\n  cellblock image export site:v1 -o site-v1.cbi\n  cellblock image export site:v2 --since site:v1 -o site-v2.cbi\n  cellblock image export site:v2 --since site:v1 -o - | ssh other cellblock image import -')
    .action(async (image: string, opts: { since?: string; output: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const ref = parseImageRef(image, 'image');
      const since = opts.since !== undefined ? parseImageRef(opts.since, '--since') : undefined;
      if (opts.output === '') throw new UserError('--output is empty', 'give a file name, or - for standard output');
      const toStdout = opts.output === '-';
      if (toStdout && process.stdout.isTTY) throw new UserError('refusing to write a binary stream to a terminal', 'redirect it (-o - > file) or give -o FILE');
      const rec = await getImage(ctx.dataDir, ref);
      const driver = await openPool(ctx, rec.pool);
      const out: Writable = toStdout ? process.stdout : await openOutput(opts.output);
      if (toStdout) out.on('error', () => { /* EPIPE and the like: the pipeline reports them */ });
      const partial = `${opts.output}.partial`;
      let progress: Progress | undefined;
      let res;
      try {
        const estimate = since ? undefined : (await driver.usage(imageSnapshot(ref))).referenced;
        progress = byteProgress(ctx, `export ${image}`, estimate);
        res = await exportImage({ dataDir: ctx.dataDir, driver, ref, since, out, onProgress: (b) => progress?.update(b) });
        if (!toStdout) {
          await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
          await rename(partial, opts.output);
        }
      } catch (e) {
        if (!toStdout) {
          out.destroy();
          await rm(partial, { force: true });
        }
        throw closedEarly(e);
      } finally {
        progress?.stop();
      }
      if (res.fullInsteadOfIncremental) {
        ctx.stderr.write(`note: pool ${driver.pool.name} uses the ${driver.info.name} driver, which cannot send increments: this is a full stream\n`);
      }
      const summary = { image: formatImageRef(ref), parent: res.header.parent ? formatImageRef(res.header.parent) : null, payloadBytes: res.payloadBytes, output: opts.output, format: res.header.format };
      if (toStdout) {
        if (!ctx.json) ctx.stderr.write(`exported ${summary.image}${summary.parent ? ` since ${summary.parent}` : ''}: ${formatSize(res.payloadBytes)}\n`);
        return;
      }
      printResult(ctx, `exported ${summary.image}${summary.parent ? ` (incremental since ${summary.parent})` : ' (full)'} to ${opts.output}: ${formatSize(res.payloadBytes)} ${res.header.format}`, summary);
    });
}
