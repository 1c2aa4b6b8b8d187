/** Output helpers: a JSON document with --json, an aligned table or lines otherwise. */
import type { CliContext } from './context.js';

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints rows as an aligned table with upper-case headers; with --json prints `data` instead. */
export function printTable(ctx: CliContext, headers: string[], rows: (string | number)[][], data: unknown): void {
  if (ctx.json) return printJson(ctx, data);
  if (rows.length === 0) {
    ctx.stdout.write('(none)\n');
    return;
  }
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const r of cells) {
    ctx.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n');
  }
}

/** A one-line human message, or `data` as JSON with --json. */
export function printResult(ctx: CliContext, human: string, data: unknown): void {
  if (ctx.json) printJson(ctx, data);
  else ctx.stdout.write(human + '\n');
}
