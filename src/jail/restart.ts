/**
 * The restart policy as a pure decision: (what the jail should be, what it is, the clock) ->
 * what to do. The supervisor loop calls it for every jail on every pass and logs the reason.
 *
 * Backoff: the n-th consecutive restart waits min(MAX, BASE * 2^(n-1)); a jail that stayed up
 * for RESET_AFTER is considered healthy again and its counter starts over.
 */
import type { RestartPolicy } from './model.js';

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
export const RESET_AFTER_MS = 60_000;

export interface RestartInput {
  policy: RestartPolicy;
  /** The user wants it running (start/create --start) rather than stopped. */
  wantRunning: boolean;
  /** runc says it is running. */
  running: boolean;
  /** Exit code from conmon's exit file; null when unknown. */
  exitCode: number | null;
  oomKilled: boolean;
  restarts: number;
  startedAtMs: number | null;
  /** When the supervisor first saw it dead (ms), null if not yet recorded. */
  diedAtMs: number | null;
  nowMs: number;
}

export type RestartDecision =
  | { action: 'none'; reason: string }
  | { action: 'record-exit'; reason: string; failed: boolean }
  | { action: 'wait'; reason: string; untilMs: number }
  | { action: 'restart'; reason: string; restarts: number };

export function backoffMs(restarts: number): number {
  if (restarts <= 0) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (restarts - 1));
}

export function failed(exitCode: number | null, oomKilled: boolean): boolean {
  return oomKilled || exitCode !== 0;
}

export function decideRestart(i: RestartInput): RestartDecision {
  if (!i.wantRunning) return { action: 'none', reason: 'stopped on purpose' };
  if (i.running) return { action: 'none', reason: 'running' };
  const how = i.oomKilled ? 'was OOM-killed' : i.exitCode === null ? 'exited (exit code unknown)' : `exited with code ${i.exitCode}`;
  const isFailure = failed(i.exitCode, i.oomKilled);
  const restartable = i.policy === 'always' || (i.policy === 'on-failure' && isFailure);
  if (!restartable) {
    return { action: 'record-exit', reason: `${how}; restart policy "${i.policy}" keeps it stopped`, failed: isFailure };
  }
  const ranLong = i.startedAtMs !== null && i.diedAtMs !== null && i.diedAtMs - i.startedAtMs >= RESET_AFTER_MS;
  const n = ranLong ? 1 : i.restarts + 1;
  const delay = backoffMs(n);
  const since = i.diedAtMs ?? i.nowMs;
  if (i.nowMs < since + delay) return { action: 'wait', reason: `${how}; restart ${n} in ${Math.ceil((since + delay - i.nowMs) / 100) / 10}s (backoff)`, untilMs: since + delay };
  return { action: 'restart', reason: `${how}; restarting (policy "${i.policy}", restart ${n})`, restarts: n };
}
