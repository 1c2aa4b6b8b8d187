import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printResult } from '../../output.js';
import { byteProgress, type Progress } from '../../progress.js';
import { openPool, readPoolRecord, DEFAULT_POOL } from '../../../storage/pools.js';
import { driverFactory } from '../../../storage/registry.js';
import { checkImport, importImage, readImageHeader } from '../../../storage/images/transfer.js';
import { formatImageRef } from '../../../sys/names.js';
import { UserError } from '../../../sys/errors.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('import')
    .description('receive an image stream made by `image export`; verifies it and leaves nothing behind if it is incomplete or corrupted')
    .argument('<file>', 'stream file, or - for standard input')
    .option('--pool <name>', 'pool to receive into (the default pool is created on first use)', DEFAULT_POOL)
    .addHelpText('after', '\nExamples:\n  cellblock image import site-v1.cbi\n  cellblock image import - < site-v2.cbi')
    .action(async (file: string, opts: { pool: string }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      let input: Readable;
      let total: number | undefined;
      if (file === '-') {
        input = process.stdin;
      } else {
        const st = await stat(file).catch(() => undefined); // missing or unreadable: refused just below as not a file
        if (!st?.isFile()) throw new UserError(`${file} is not a file`, 'give the file written by: cellblock image export NAME:TAG -o FILE (or - for standard input)');
        total = st.size;
        input = createReadStream(file);
      }
      // Read and check the header before the default pool is created for the stream: a file
      // that is not an image stream, or one that cannot go there, must change nothing.
      const head = await readImageHeader(input);
      let driver;
      try {
        const existing = await readPoolRecord(ctx.dataDir, opts.pool);
        if (!existing && opts.pool === DEFAULT_POOL) await checkImport(ctx.dataDir, head.header, opts.pool, driverFactory('btrfs').info);
        driver = await openPool(ctx, opts.pool, { create: true });
      } catch (e) {
        head.abandon();
        throw e;
      }
      let progress: Progress | undefined;
      try {
        const rec = await importImage({
          dataDir: ctx.dataDir,
          driver,
          input,
          head,
          onHeader: (h) => { progress = byteProgress(ctx, `import ${formatImageRef(h.image)}`, total); },
          onProgress: (b) => progress?.update(b),
        });
        progress?.stop();
        progress = undefined;
        printResult(ctx, `imported image ${formatImageRef(rec)} into pool ${rec.pool}`, rec);
      } finally {
        progress?.stop();
      }
    });
}
