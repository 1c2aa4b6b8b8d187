/**
 * wrk for the load-balancer benchmark: its argv (pure) and its output parsed (pure): requests,
 * requests/s, p99 latency, failed requests (non-2xx/3xx answers plus socket errors).
 */

export interface WrkResult {
  requests: number;
  rps: number;
  /** ms */
  p50: number;
  p99: number;
  /** Non-2xx/3xx responses plus connect, read, write errors and timeouts. */
  failed: number;
  /** failed by kind: "non2xx 1, timeout 2" (empty: none). */
  failures: string;
}

/** wrk with its latency distribution, a Host header when given; bounded by seconds. */
export function wrkArgv(url: string, o: { seconds: number; connections?: number; threads?: number; host?: string; timeoutS?: number }): string[] {
  return [
    'wrk', '--latency', '-t', String(o.threads ?? 2), '-c', String(o.connections ?? 16), '-d', `${o.seconds}s`, '--timeout', `${o.timeoutS ?? 2}s`,
    ...(o.host ? ['-H', `Host: ${o.host}`] : []), url,
  ];
}

/** "1.23ms", "850.00us", "2.01s" -> ms. */
export function wrkDurationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  const ms = m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
  return Math.round(ms * 1000) / 1000;
}

/** wrk 4.1 (Debian 12) output -> figures. */
export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const kinds: [string, number][] = [['non2xx', num(/Non-2xx or 3xx responses: (\d+)/)], ...['connect', 'read', 'write', 'timeout'].map((k, i): [string, number] => [k, Number(socket?.[i + 1] ?? 0)])];
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: wrkDurationMs(/\n\s+50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99: wrkDurationMs(/\n\s+99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    failed: kinds.reduce((a, [, n]) => a + n, 0),
    failures: kinds.filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', '),
  };
}
