/**
 * The runc runtime: runs the argv of runc.ts through an injected Exec and classifies runc's
 * failures once, here (not-found, exists), so callers branch on `ExecError.kind`, never on text.
 *
 * Logs: `runc run --detach` hands its own stdout and stderr to the container's process, so
 * the runtime opens the jail's log file and passes its descriptor as runc's stdout and
 * stderr (exec's `outputFd`). runc exits once the process runs; the process keeps writing
 * to the file, and survives the agent (it is reparented to init). runc's own messages go to
 * BUNDLE/runc.log, from which a failure's reason is read back into the ExecError.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { ExecError } from '../sys/errors.js';
import type { Exec, ExecResult } from '../sys/exec.js';
import { bundleLayout } from './bundle.js';
import {
  parseRuncList, parseRuncLogErrors, parseRuncState, runcDelete, runcExec, runcKill, runcList, runcRoot, runcRun,
  runcStart, runcState, RUNC_EXISTS_RE, RUNC_NOT_FOUND_RE, RUNC_NOT_RUNNING_RE, type RuncExecOptions, type RuncGlobal, type RuncState,
} from './runc.js';

const RUN_TIMEOUT_MS = 60_000;
const CONTROL_TIMEOUT_MS = 30_000;

/**
 * Sets the kind of a runc failure from its stderr (patterns in runc.ts, tagged with the runc
 * version); returns the error for `throw`. A kill of a container that is no longer running
 * is 'not-found' too: the process it was to signal is not there.
 */
export function classifyRuncError(e: unknown): unknown {
  if (e instanceof ExecError && e.kind === 'failed') {
    if (RUNC_NOT_FOUND_RE.test(e.stderr)) e.kind = 'not-found';
    else if (RUNC_EXISTS_RE.test(e.stderr)) e.kind = 'exists';
    else if (RUNC_NOT_RUNNING_RE.test(e.stderr) && e.argv.includes('kill')) e.kind = 'not-found';
  }
  return e;
}

export class RuncRuntime {
  readonly global: RuncGlobal;

  constructor(private readonly exec: Exec, root: string) {
    this.global = { root };
  }

  static forDataDir(exec: Exec, dataDir: string): RuncRuntime {
    return new RuncRuntime(exec, runcRoot(dataDir));
  }

  private async run1(argv: string[], timeoutMs = CONTROL_TIMEOUT_MS): Promise<ExecResult> {
    try {
      return await this.exec(argv, { timeoutMs });
    } catch (e) {
      throw classifyRuncError(e);
    }
  }

  /**
   * Creates and starts container `id` from `bundleDir`, detached, its stdout and stderr
   * appended to `logFile`. Returns the PID of its init process.
   */
  async run(id: string, bundleDir: string, logFile: string): Promise<number> {
    const l = bundleLayout(bundleDir);
    await writeFile(l.runcLog, '', { mode: 0o600 });
    const argv = runcRun({ ...this.global, log: l.runcLog }, id, bundleDir, { detach: true, pidFile: l.pidFile });
    const log = await open(logFile, 'a', 0o640);
    try {
      await this.exec(argv, { outputFd: log.fd, timeoutMs: RUN_TIMEOUT_MS });
    } catch (e) {
      if (!(e instanceof ExecError)) throw e;
      // no runc.log: the ExecError says how it failed without runc's reasons
      const reasons = parseRuncLogErrors(await readFile(l.runcLog, 'utf8').catch(() => ''));
      const err = new ExecError(e.argv, e.exitCode, reasons.slice(-3).join('\n') || e.stderr, e.kind, e.signal);
      throw classifyRuncError(err);
    } finally {
      await log.close();
    }
    return Number((await readFile(l.pidFile, 'utf8')).trim());
  }

  /** Starts a container made by `runc create` (conmon does that part). */
  async start(id: string): Promise<void> {
    await this.run1(runcStart(this.global, id));
  }

  /** The container's state, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncState | undefined> {
    try {
      return parseRuncState((await this.run1(runcState(this.global, id))).stdout);
    } catch (e) {
      if (e instanceof ExecError && e.kind === 'not-found') return undefined;
      throw e;
    }
  }

  async list(): Promise<RuncState[]> {
    return parseRuncList((await this.run1(runcList(this.global))).stdout);
  }

  /** Sends `signal`; returns false when the container is unknown or no longer running. */
  async kill(id: string, signal = 'TERM', o: { all?: boolean } = {}): Promise<boolean> {
    try {
      await this.run1(runcKill(this.global, id, signal, o));
      return true;
    } catch (e) {
      if (e instanceof ExecError && e.kind === 'not-found') return false;
      throw e;
    }
  }

  /** Kills (if running) and deletes the container; nothing happens when it is unknown. */
  async delete(id: string): Promise<void> {
    try {
      await this.run1(runcDelete(this.global, id, { force: true }));
    } catch (e) {
      if (e instanceof ExecError && e.kind === 'not-found') return;
      throw e;
    }
  }

  /** Runs a further process in the container and waits for it. */
  async execIn(id: string, argv: readonly string[], o: RuncExecOptions & { okCodes?: readonly number[]; timeoutMs?: number } = {}): Promise<ExecResult> {
    try {
      return await this.exec(runcExec(this.global, id, argv, o), { timeoutMs: o.timeoutMs ?? CONTROL_TIMEOUT_MS, okCodes: o.okCodes ?? [0] });
    } catch (e) {
      throw classifyRuncError(e);
    }
  }
}
