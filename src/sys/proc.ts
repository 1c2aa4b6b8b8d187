/** Facts about processes from /proc, and signalling them (the pids of processes cellblock started). */
import { readFile } from 'node:fs/promises';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while pid exists and is not a zombie. */
export async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''); // no such process
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** A pid file's content as a PID, or undefined. */
export function parsePid(text: string): number | undefined {
  const n = Number(text.trim());
  return Number.isInteger(n) && n > 1 ? n : undefined;
}

/**
 * The PID in a pid file (its first line) when that process is alive and its command line
 * (argv) passes `owns`: a pid file left behind, or a PID reused by another program, is no
 * answer. undefined otherwise.
 */
export async function pidFromFile(file: string, owns: (argv: string[]) => boolean): Promise<number | undefined> {
  const pid = parsePid((await readFile(file, 'utf8').catch(() => '')).split('\n')[0] ?? ''); // no pid file: not running
  if (pid === undefined || !(await alive(pid))) return undefined;
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0'); // gone since: not ours
  return owns(argv) ? pid : undefined;
}

/** Sends signal to every pid at once (a gone one is skipped). */
export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try { process.kill(pid, signal); } catch { /* already gone: what we wanted */ }
  }
}

/** Waits up to ms for every pid to be gone; returns those still alive. */
export async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left: number[] = [];
    for (const p of pids) if (await alive(p)) left.push(p);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(25);
  }
}

/** Ends pid step by step: each signal, then up to its wait for the process to be gone, then the next. */
export async function stopPid(pid: number, steps: readonly (readonly [NodeJS.Signals, number])[]): Promise<void> {
  for (const [signal, waitMs] of steps) {
    signalAll([pid], signal);
    if ((await waitGone([pid], waitMs)).length === 0) return;
  }
}
