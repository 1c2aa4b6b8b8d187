/**
 * `producer | consumer` as two processes joined by a real pipe (a FIFO in a temporary dir),
 * the way a shell joins them: this process holds neither end once both have started, so the
 * producer gets EPIPE when the consumer stops reading and the consumer sees EOF when the
 * producer exits. (Relaying through this process instead would keep a stopped consumer's
 * producer blocked forever.) Used by tests and benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';

export interface Finished { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export function finished(child: ChildProcess): Promise<Finished> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

export async function pipeProcesses(producer: readonly string[], consumer: readonly string[], opts: { cwd?: string } = {}): Promise<{ producer: Finished; consumer: Finished }> {
  const dir = await mkdtemp(join(tmpdir(), 'cellblock-pipe-'));
  try {
    const fifo = join(dir, 'pipe');
    await exec(['mkfifo', '-m', '0600', fifo]);
    // each open blocks (in the thread pool) until the other end is opened
    const [r, w] = await Promise.all([open(fifo, 'r'), open(fifo, 'w')]);
    let p: ChildProcess;
    let c: ChildProcess;
    try {
      p = spawn(producer[0]!, producer.slice(1), { cwd: opts.cwd, stdio: ['ignore', w.fd, 'pipe'] });
      c = spawn(consumer[0]!, consumer.slice(1), { cwd: opts.cwd, stdio: [r.fd, 'pipe', 'pipe'] });
    } finally {
      await w.close();
      await r.close();
    }
    const [pr, cr] = await Promise.all([finished(p), finished(c)]);
    return { producer: pr, consumer: cr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
