/**
 * Network checks from inside a lab host (for tests, the benchmark and a user trying the lab):
 * a TCP connect and an HTTP GET run by a small node process in the host's namespace.
 */
import type { Lab } from './lab.js';

/** What a TCP connect attempt found: open / refused (the host answered) or no answer. */
export type Probe = 'open' | 'refused' | 'timeout' | 'unreachable' | string;

/** A TCP connect from inside host i to host:port. 'refused' also proves the address answered. */
export async function probe(lab: Lab, i: number, host: string, port: number, timeoutMs = 1500): Promise<Probe> {
  const code = `const s = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port} });
    const done = (r) => { console.log(r); process.exit(0); };
    setTimeout(() => done('timeout'), ${timeoutMs});
    s.on('connect', () => done('open'));
    s.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' ? 'unreachable' : String(e.code)));`;
  return (await lab.run(i, [lab.node, '-e', code], { timeoutMs: timeoutMs + 10_000 })).stdout.trim();
}

/** True when host i gets any answer (open or refused) from host:port. */
export async function reaches(lab: Lab, i: number, host: string, port = 9, timeoutMs = 1500): Promise<boolean> {
  const r = await probe(lab, i, host, port, timeoutMs);
  return r === 'open' || r === 'refused';
}

/** An HTTP GET from inside host i; a network failure is thrown with its cause. */
export async function httpGet(lab: Lab, i: number, url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const code = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(${timeoutMs}) })
    .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))
    .catch((e) => { console.error(String(e.cause ?? e)); process.exit(1); });`;
  const r = await lab.run(i, [lab.node, '-e', code], { timeoutMs: timeoutMs + 10_000 });
  return JSON.parse(r.stdout) as { status: number; body: string };
}
