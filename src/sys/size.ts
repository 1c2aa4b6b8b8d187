/** Sizes with units: `512M`, `20G`, `1.5G`, `100K`, `1T`, plain bytes. Binary multiples (1K = 1024). */
import { UserError } from './errors.js';

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export function parseSize(field: string, value: string | number, opts: { min?: number; max?: number } = {}): number {
  const fix = 'write a number with an optional unit K, M, G or T, for example 512M or 20G';
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(value);
    if (!m) throw new UserError(`${field}: invalid size ${JSON.stringify(value)}`, fix);
    bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  }
  if (!Number.isFinite(bytes) || !Number.isSafeInteger(Math.floor(bytes)) || bytes < 0) {
    throw new UserError(`${field}: invalid size ${JSON.stringify(value)}`, fix);
  }
  const min = opts.min ?? 1;
  if (bytes < min) throw new UserError(`${field}: ${JSON.stringify(value)} is too small`, `use at least ${formatSize(min)}`);
  if (opts.max !== undefined && bytes > opts.max) throw new UserError(`${field}: ${JSON.stringify(value)} is too large`, `use at most ${formatSize(opts.max)}`);
  return bytes;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ['K', 'M', 'G', 'T'];
  let v = bytes;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}${units[u]}`;
}
