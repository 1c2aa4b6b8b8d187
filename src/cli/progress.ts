/**
 * Byte progress (bytes, rate, ETA) for long transfers, drawn on stderr with cli-progress
 * when stderr is a terminal and --json is off; silent otherwise.
 */
import cliProgress from 'cli-progress';
import type { CliContext } from './context.js';
import { formatSize } from '../sys/size.js';

export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

export function byteProgress(ctx: CliContext, label: string, total?: number): Progress {
  const tty = Boolean((process.stderr as NodeJS.WriteStream).isTTY);
  if (ctx.json || !tty) return SILENT;
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: total ? `${label} [{bar}] {percentage}% {done}/{all} {rate}/s ETA {eta_formatted}` : `${label} {done} {rate}/s`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const fmt = (bytes: number) => {
    const secs = Math.max((Date.now() - started) / 1000, 0.001);
    return { done: formatSize(bytes), all: total ? formatSize(total) : '?', rate: formatSize(Math.round(bytes / secs)) };
  };
  bar.start(total ?? 1, 0, fmt(0));
  let last = 0;
  return {
    update(bytes) {
      last = bytes;
      bar.update(total ? Math.min(bytes, total) : 0, fmt(bytes));
    },
    stop() {
      if (total) bar.update(total, fmt(last));
      bar.stop();
    },
  };
}
