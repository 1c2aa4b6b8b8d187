/**
 * Durations in stack files: `500ms`, `5s`, `1m`, `1h`, and sums such as `1m30s`. Pure.
 * A bare number is refused: `5` could mean seconds or milliseconds, so the file must say.
 */
import { UserError } from '../sys/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
/** Longest duration accepted anywhere: a day. */
export const MAX_DURATION_MS = 86_400_000;
const FIX = 'write a number with a unit ms, s, m or h, for example 500ms, 5s or 1m30s';

/** Returns whole milliseconds; throws a UserError (no field prefix) for anything else. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    throw new UserError(`expected a duration with a unit, got ${value}`, `add a unit, for example ${value}s or ${value}ms`);
  }
  const text = value.trim();
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    PART_RE.lastIndex = at;
    const m = PART_RE.exec(text);
    if (!m) throw new UserError(`invalid duration ${JSON.stringify(value)}`, FIX);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART_RE.lastIndex;
  }
  // 1.1s is 1100.0000000000002 in floating point: round away what decimals cannot mean
  if (Math.abs(ms - Math.round(ms)) < 1e-6) ms = Math.round(ms);
  if (text === '') throw new UserError('invalid duration ""', FIX);
  if (!Number.isInteger(ms)) throw new UserError(`duration ${JSON.stringify(value)} is not a whole number of milliseconds`, 'round it to whole milliseconds, for example 1500ms');
  if (ms <= 0) throw new UserError(`duration ${JSON.stringify(value)} is zero`, 'use a duration greater than zero, for example 1s');
  if (ms > MAX_DURATION_MS) throw new UserError(`duration ${JSON.stringify(value)} is longer than a day`, 'use at most 24h');
  return ms;
}

/** The shortest text parseDuration reads back as `ms`: 5000 -> "5s", 90000 -> "1m30s", 1500 -> "1500ms". */
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
  return parts || '0s';
}

