/** Runs the cellblock CLI in-process for a benchmark's set-up and tear-down, without its output. */
import { main } from '../src/cli/main.js';

export async function quietCli(args: string[]): Promise<number> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await main(args);
  } finally {
    process.stdout.write = write;
  }
}
