/**
 * Health checks of running replicas: an HTTP GET to the jail's address, or a command run
 * inside the jail. The decision (healthy or not, when to check next) is the pure `afterCheck`
 * and `nextCheckDelay`; HealthMonitor only runs checks on timers and reports changes.
 *
 * A replica starts unhealthy. Its first passing check makes it healthy at once (fast
 * start-up; until then it is checked every STARTUP_INTERVAL_MS at most). Once healthy it is
 * checked every intervalMs; `threshold` consecutive failures make it unhealthy, and then
 * `threshold` consecutive passes make it healthy again.
 */
import { request } from 'node:http';
import type { CommandHealth, HealthSpec, HttpHealth } from '../spec/types.js';
import type { JailService } from '../jail/service.js';

/** Check interval of a replica that has never been healthy, when intervalMs is longer. */
export const STARTUP_INTERVAL_MS = 500;

export interface HealthTrack {
  healthy: boolean;
  /** It passed a check at least once (start-up is over). */
  started: boolean;
  /** Consecutive results against the current state: failures while healthy, passes while not. */
  streak: number;
  /** The last failure, while unhealthy. */
  message?: string;
}

export type CheckResult = { ok: true } | { ok: false; message: string };

export interface HealthChange { healthy: boolean; message?: string }

export const INITIAL_HEALTH: HealthTrack = Object.freeze({ healthy: false, started: false, streak: 0 });

/** The state after one check, and whether `healthy` changed. */
export function afterCheck(t: HealthTrack, r: CheckResult, threshold: number): { track: HealthTrack; changed: boolean } {
  const need = Math.max(1, threshold);
  if (r.ok) {
    if (t.healthy) return { track: { healthy: true, started: true, streak: 0 }, changed: false };
    const streak = t.started ? t.streak + 1 : need;
    if (streak >= need) return { track: { healthy: true, started: true, streak: 0 }, changed: true };
    return { track: { ...t, streak }, changed: false };
  }
  if (!t.healthy) return { track: { healthy: false, started: t.started, streak: 0, message: r.message }, changed: false };
  const streak = t.streak + 1;
  if (streak >= need) return { track: { healthy: false, started: true, streak: 0, message: r.message }, changed: true };
  return { track: { healthy: true, started: true, streak, message: r.message }, changed: false };
}

/** Milliseconds until the next check. */
export function nextCheckDelay(t: HealthTrack, intervalMs: number): number {
  return t.started ? intervalMs : Math.min(intervalMs, STARTUP_INTERVAL_MS);
}

/** "2s", "1.5s", "800ms" */
export function durationText(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}

/** What a failed HTTP request reads as: the error code for the usual network failures. */
const NET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
};

class CheckTimeout extends Error {}

/** GET http://ip:port/path; passes iff the status is `expectStatus`. The body is discarded. */
export function checkHttp(ip: string, spec: HttpHealth, signal?: AbortSignal): Promise<CheckResult> {
  if (!ip) return Promise.resolve({ ok: false, message: 'the jail has no address' });
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: CheckResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    let status: number | undefined;
    const verdict = (code: number): CheckResult => code === spec.expectStatus ? { ok: true } : { ok: false, message: `GET ${spec.path}: status ${code}` };
    const req = request({ host: ip, port: spec.port, path: spec.path, method: 'GET', agent: false, signal }, (res) => {
      status = res.statusCode ?? 0;
      res.on('end', () => finish(verdict(status!)));
      res.on('error', () => finish(verdict(status!)));
      res.resume(); // read and discard the body
    });
    // Bounds the whole exchange; a body still streaming then is cut off, its status counts.
    const timer = setTimeout(() => {
      if (status !== undefined) finish(verdict(status));
      req.destroy(new CheckTimeout());
    }, spec.timeoutMs);
    timer.unref();
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof CheckTimeout) finish({ ok: false, message: `timed out after ${durationText(spec.timeoutMs)}` });
      else finish({ ok: false, message: NET_ERRORS[err.code ?? ''] ?? firstLine(err.message) });
    });
    req.end();
  });
}

/** Runs the command in the jail; passes iff it exits 0. */
export async function checkCommand(jails: JailService, jail: string, spec: CommandHealth): Promise<CheckResult> {
  const timeoutSeconds = Math.max(1, Math.ceil(spec.timeoutMs / 1000));
  let timer: NodeJS.Timeout | undefined;
  // A backstop in case exec overruns its own timeout.
  const late = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, message: `timed out after ${durationText(spec.timeoutMs)}` }), timeoutSeconds * 1000 + 1000);
    timer.unref();
  });
  const run = jails.exec(jail, { command: spec.command, timeoutSeconds }).then(
    (out): CheckResult => {
      if (out.exitCode === 0) return { ok: true };
      const line = firstLine(out.stderr);
      return { ok: false, message: line ? `exit ${out.exitCode}: ${line}` : `exit ${out.exitCode}` };
    },
    (err: Error): CheckResult => ({ ok: false, message: firstLine(err.message) || 'exec failed' }),
  );
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(text: string): string {
  return (text.split('\n').map((l) => l.trim()).find(Boolean) ?? '').slice(0, 200);
}

interface Watch {
  timer: NodeJS.Timeout | undefined;
  abort: AbortController;
  track: HealthTrack;
}

/** Runs the checks of the watched jails; each jail is checked one at a time, never overlapping. */
export class HealthMonitor {
  private readonly w = new Map<string, Watch>();

  /** Starts checking `jail` now (replacing an earlier watch of it). */
  watch(jail: string, ip: string, spec: HealthSpec, onChange: (state: HealthChange) => void, jails: JailService): void {
    this.unwatch(jail);
    const watch: Watch = { timer: undefined, abort: new AbortController(), track: INITIAL_HEALTH };
    this.w.set(jail, watch);
    const live = () => this.w.get(jail) === watch;
    const check = (): Promise<CheckResult> => spec.kind === 'http' ? checkHttp(ip, spec, watch.abort.signal) : checkCommand(jails, jail, spec);
    const tick = async () => {
      watch.timer = undefined;
      let r: CheckResult;
      try {
        r = await check();
      } catch (err) {
        r = { ok: false, message: firstLine((err as Error).message) || 'check failed' };
      }
      if (!live()) return;
      const { track, changed } = afterCheck(watch.track, r, spec.threshold);
      watch.track = track;
      if (changed) {
        try {
          onChange(track.healthy ? { healthy: true } : { healthy: false, message: track.message ?? 'unhealthy' });
        } catch { /* a listener's failure must not stop the checks */ }
      }
      if (!live()) return;
      watch.timer = setTimeout(() => void tick(), nextCheckDelay(track, spec.intervalMs));
      watch.timer.unref();
    };
    watch.timer = setTimeout(() => void tick(), 0);
    watch.timer.unref();
  }

  /** Stops checking `jail`; a check in flight is aborted and never reports. */
  unwatch(jail: string): void {
    const watch = this.w.get(jail);
    if (!watch) return;
    this.w.delete(jail);
    if (watch.timer) clearTimeout(watch.timer);
    watch.abort.abort();
  }

  watching(jail: string): boolean {
    return this.w.has(jail);
  }

  /** The watched jails, sorted. */
  jails(): string[] {
    return [...this.w.keys()].sort();
  }

  /** The current state of a watched jail (for status), or undefined. */
  state(jail: string): HealthTrack | undefined {
    return this.w.get(jail)?.track;
  }

  close(): void {
    for (const jail of [...this.w.keys()]) this.unwatch(jail);
  }
}
