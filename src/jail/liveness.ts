/**
 * "Is this jail running?" without an exec of runc each time (`runc state` costs a process and
 * about 10 ms of CPU; the supervisor asks once a second per jail, the agent's reconciler on
 * every pass). Once runc has said a jail's init process runs, the kernel can say it still
 * does: the same PID with the same start time (field 22 of /proc/PID/stat, so a reused PID
 * does not count) and not a zombie. Anything else, and every FULL_CHECK_MS at the latest,
 * asks runc again. Only for reading a state: starting and stopping ask runc themselves.
 */
import { readFile } from 'node:fs/promises';
import type { RuncState } from './runc.js';

/** runc is asked again at least this often per running jail. */
export const FULL_CHECK_MS = 30_000;

export interface StateSource {
  state(id: string): Promise<RuncState | undefined>;
}

/** The process state letter and start time of /proc/PID/stat text; undefined when unreadable. */
export function parseProcStat(text: string): { state: string; startTime: string } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // after "pid (comm) ": field 3 (state) is index 0, field 22 (starttime) index 19
  const f = text.slice(close + 2).split(' ');
  return f.length > 19 && f[0] && f[19] ? { state: f[0], startTime: f[19] } : undefined;
}

export class RunningCache implements StateSource {
  private readonly known = new Map<string, { st: RuncState; startTime: string; checkedAt: number }>();

  constructor(
    private readonly runc: StateSource,
    private readonly now: () => number = () => Date.now(),
    private readonly readStat: (pid: number) => Promise<string> = (pid) => readFile(`/proc/${pid}/stat`, 'utf8'),
  ) {}

  async state(id: string): Promise<RuncState | undefined> {
    const k = this.known.get(id);
    if (k && this.now() - k.checkedAt < FULL_CHECK_MS && (await this.startTime(k.st.pid)) === k.startTime) return k.st;
    const st = await this.runc.state(id);
    const startTime = st?.status === 'running' ? await this.startTime(st.pid) : undefined;
    if (st && startTime) this.known.set(id, { st, startTime, checkedAt: this.now() });
    else this.known.delete(id);
    return st;
  }

  forget(id: string): void {
    this.known.delete(id);
  }

  /** The start time of a live, non-zombie process, else undefined. */
  private async startTime(pid: number): Promise<string | undefined> {
    let text: string;
    try {
      text = await this.readStat(pid);
    } catch {
      return undefined; // no such process
    }
    const s = parseProcStat(text);
    return s && s.state !== 'Z' && s.state !== 'X' ? s.startTime : undefined;
  }
}
