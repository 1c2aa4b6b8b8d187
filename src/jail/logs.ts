/**
 * Jail logs: conmon writes k8s-file lines `<RFC3339 time> <stdout|stderr> <F|P> <text>`
 * (P = partial line, continued by the next record). Parsing is pure; following polls the file
 * and starts over when conmon truncates it at its size cap.
 */
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';

export interface LogLine { time: string; stream: 'stdout' | 'stderr'; text: string }

/** Parses k8s-file text; partial records are joined to their line. Returns complete lines and the unparsed rest. */
export function parseK8sLog(text: string, carry: Partial<Record<'stdout' | 'stderr', string>> = {}): { lines: LogLine[]; rest: string } {
  const lines: LogLine[] = [];
  const parts = text.split('\n');
  const rest = parts.pop() ?? '';
  for (const raw of parts) {
    const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(raw);
    if (!m) continue;
    const stream = m[2] as 'stdout' | 'stderr';
    const piece = (carry[stream] ?? '') + m[4]!;
    if (m[3] === 'P') { carry[stream] = piece; continue; }
    carry[stream] = '';
    lines.push({ time: m[1]!, stream, text: piece });
  }
  return { lines, rest };
}

export function formatLogLine(l: LogLine): string {
  return `${l.time} ${l.stream} ${l.text}\n`;
}

export function tailLines(lines: LogLine[], n: number | undefined): LogLine[] {
  return n === undefined ? lines : n <= 0 ? [] : lines.slice(-n);
}

/** A readable of formatted log lines; with `follow`, keeps polling until `signal` aborts. */
export function logStream(path: string, o: { follow?: boolean; tail?: number; signal?: AbortSignal; pollMs?: number }): Readable {
  const out = new Readable({ read() {} });
  const carry = {};
  let offset = 0;
  let rest = '';
  let first = true;
  const readMore = async (): Promise<void> => {
    const st = await stat(path).catch(() => undefined); // not written yet, or being replaced: nothing to read this time
    if (!st) return;
    if (st.size < offset) { offset = 0; rest = ''; } // conmon truncated it at its cap
    if (st.size === offset) return;
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(st.size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      offset += bytesRead;
      const parsed = parseK8sLog(rest + buf.subarray(0, bytesRead).toString('utf8'), carry);
      rest = parsed.rest;
      const lines = first ? tailLines(parsed.lines, o.tail) : parsed.lines;
      first = false;
      for (const l of lines) out.push(formatLogLine(l));
    } finally {
      await fh.close();
    }
  };
  void (async () => {
    try {
      await readMore();
      first = false;
      while (o.follow && !o.signal?.aborted && !out.destroyed) {
        await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
        await readMore();
      }
      out.push(null);
    } catch (e) {
      out.destroy(e as Error);
    }
  })();
  return out;
}
