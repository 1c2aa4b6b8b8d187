import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  afterCheck, checkCommand, checkHttp, HealthMonitor, INITIAL_HEALTH, nextCheckDelay, STARTUP_INTERVAL_MS,
  type CheckResult, type HealthChange, type HealthTrack,
} from '../../src/cluster/health.js';
import type { ExecOutput, ExecRequest, JailService } from '../../src/jail/service.js';
import type { CommandHealth, HttpHealth } from '../../src/spec/types.js';

// ---- the pure decision ----

const PASS: CheckResult = { ok: true };
const fail = (message = 'connection refused'): CheckResult => ({ ok: false, message });

/** Runs results through afterCheck: "-" stays, "H" became healthy, "U" became unhealthy. */
function run(results: CheckResult[], threshold: number, from: HealthTrack = INITIAL_HEALTH): { marks: string; track: HealthTrack } {
  let track = from;
  let marks = '';
  for (const r of results) {
    const next = afterCheck(track, r, threshold);
    assert.equal(next.changed, next.track.healthy !== track.healthy);
    marks += next.changed ? (next.track.healthy ? 'H' : 'U') : '-';
    track = next.track;
  }
  return { marks, track };
}

test('decision: a new replica starts unhealthy; its first pass makes it healthy at once', () => {
  assert.equal(INITIAL_HEALTH.healthy, false);
  assert.equal(run([PASS], 3).marks, 'H');
  assert.equal(run([fail(), fail(), fail(), fail(), PASS], 3).marks, '----H');
});

test('decision: threshold consecutive failures make it unhealthy, with the last failure', () => {
  const { marks, track } = run([PASS, fail('a'), fail('b'), PASS, fail('c'), fail('d'), fail('e'), fail('f')], 3);
  assert.equal(marks, 'H-----U-');
  assert.deepEqual(track, { healthy: false, started: true, streak: 0, message: 'f' });
  assert.equal(run([PASS, fail()], 1).marks, 'HU');
});

test('decision: once unhealthy, threshold consecutive passes make it healthy again', () => {
  const down = run([PASS, fail(), fail()], 2);
  assert.equal(down.marks, 'H-U');
  assert.equal(run([PASS, fail(), PASS, PASS], 2, down.track).marks, '---H');
  assert.equal(run([PASS, PASS, PASS], 3, down.track).marks, '--H');
  const back = run([PASS, PASS], 2, down.track).track;
  assert.deepEqual(back, { healthy: true, started: true, streak: 0 });
});

test('decision: checks run every min(interval, 500 ms) until the first pass, then every interval', () => {
  assert.equal(nextCheckDelay(INITIAL_HEALTH, 5000), STARTUP_INTERVAL_MS);
  assert.equal(nextCheckDelay(INITIAL_HEALTH, 200), 200);
  assert.equal(nextCheckDelay(run([fail()], 3).track, 5000), 500);
  assert.equal(nextCheckDelay(run([PASS], 3).track, 5000), 5000);
  // unhealthy after having been healthy: back to the normal interval
  assert.equal(nextCheckDelay(run([PASS, fail()], 1).track, 5000), 5000);
});

// ---- HTTP checks against a real server on 127.0.0.1 ----

function http(o: Partial<HttpHealth> = {}): HttpHealth {
  return { kind: 'http', port: 0, path: '/ok', expectStatus: 200, intervalMs: 40, timeoutMs: 300, threshold: 2, ...o };
}

/**
 * Resolves with the first n changes; rejects after ms. Its timer is ref'd: the monitor's are
 * not, so without it the process could exit while a test waits.
 */
function changes(n: number, ms = 3000): { seen: HealthChange[]; onChange: (s: HealthChange) => void; done: Promise<HealthChange[]> } {
  const seen: HealthChange[] = [];
  let resolve!: (v: HealthChange[]) => void;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<HealthChange[]>((res, rej) => {
    resolve = res;
    timer = setTimeout(() => rej(new Error(`timed out waiting for ${n} changes; saw ${JSON.stringify(seen)}`)), ms);
  });
  return { seen, done, onChange: (s) => { seen.push(s); if (seen.length === n) { clearTimeout(timer); resolve(seen); } } };
}

const noJails = {} as JailService;

describe('HTTP checks', () => {
  let server: Server;
  let port = 0;
  let flaky = 200;
  let closedPort = 0;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') { res.end('fine'); return; }
      if (req.url === '/flaky') { res.statusCode = flaky; res.end('body'); return; }
      if (req.url === '/hang') return; // never answers
      res.statusCode = 404;
      res.end('not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const other = createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    closedPort = (other.address() as AddressInfo).port;
    await new Promise((r) => other.close(r));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('checkHttp: the status decides; failures read as short phrases', async () => {
    assert.deepEqual(await checkHttp('127.0.0.1', http({ port, path: '/ok' })), { ok: true });
    assert.deepEqual(await checkHttp('127.0.0.1', http({ port, path: '/index.html' })), { ok: false, message: 'GET /index.html: status 404' });
    assert.deepEqual(await checkHttp('127.0.0.1', http({ port, path: '/index.html', expectStatus: 404 })), { ok: true });
    assert.deepEqual(await checkHttp('127.0.0.1', http({ port: closedPort })), { ok: false, message: 'connection refused' });
    assert.deepEqual(await checkHttp('127.0.0.1', http({ port, path: '/hang', timeoutMs: 100 })), { ok: false, message: 'timed out after 100ms' });
    assert.deepEqual(await checkHttp('', http({ port })), { ok: false, message: 'the jail has no address' });
  });

  test('a replica that answers 200 becomes healthy once; one that answers 404 never reports', async () => {
    const mon = new HealthMonitor();
    try {
      const good = changes(1);
      const bad: HealthChange[] = [];
      mon.watch('demo.site.0', '127.0.0.1', http({ port, path: '/ok' }), good.onChange, noJails);
      mon.watch('demo.site.1', '127.0.0.1', http({ port, path: '/missing' }), (s) => bad.push(s), noJails);
      mon.watch('demo.site.2', '127.0.0.1', http({ port: closedPort }), (s) => bad.push(s), noJails);
      assert.deepEqual(mon.jails(), ['demo.site.0', 'demo.site.1', 'demo.site.2']);
      assert.deepEqual(await good.done, [{ healthy: true }]);
      await sleep(250); // several more checks of each
      assert.deepEqual(good.seen, [{ healthy: true }]);
      assert.deepEqual(bad, []);
      assert.equal(mon.state('demo.site.1')?.message, 'GET /missing: status 404');
      assert.equal(mon.state('demo.site.2')?.message, 'connection refused');
    } finally {
      mon.close();
    }
    assert.deepEqual(mon.jails(), []);
  });

  test('threshold failures make it unhealthy with a message; threshold passes make it healthy again', async () => {
    const mon = new HealthMonitor();
    try {
      flaky = 200;
      const c = changes(3);
      mon.watch('demo.site.0', '127.0.0.1', http({ port, path: '/flaky' }), (s) => {
        c.onChange(s);
        flaky = s.healthy ? 503 : 200; // flip the server after each change
      }, noJails);
      assert.deepEqual(await c.done, [
        { healthy: true },
        { healthy: false, message: 'GET /flaky: status 503' },
        { healthy: true },
      ]);
    } finally {
      mon.close();
    }
  });

  test('unwatch stops the checks: a check in flight never reports', async () => {
    const mon = new HealthMonitor();
    const seen: HealthChange[] = [];
    mon.watch('demo.site.0', '127.0.0.1', http({ port, path: '/hang', timeoutMs: 200 }), (s) => seen.push(s), noJails);
    await sleep(50); // the first check is in flight
    assert.equal(mon.watching('demo.site.0'), true);
    mon.unwatch('demo.site.0');
    assert.equal(mon.watching('demo.site.0'), false);
    mon.unwatch('demo.site.0'); // twice is fine
    mon.watch('demo.site.1', '127.0.0.1', http({ port, path: '/ok' }), (s) => seen.push(s), noJails);
    mon.unwatch('demo.site.1'); // before its first check
    await sleep(300);
    assert.deepEqual(seen, []);
    mon.close();
  });
});

// ---- command checks with a fake JailService ----

function cmd(o: Partial<CommandHealth> = {}): CommandHealth {
  return { kind: 'command', command: ['/app/check'], intervalMs: 30, timeoutMs: 1500, threshold: 2, ...o };
}

/** exec returns the queued results in turn (the last one repeats). */
function fakeJails(results: (ExecOutput | Error)[]): JailService & { calls: [string, ExecRequest][] } {
  const calls: [string, ExecRequest][] = [];
  let i = 0;
  return {
    calls,
    async exec(name: string, req: ExecRequest): Promise<ExecOutput> {
      calls.push([name, req]);
      const r = results[Math.min(i++, results.length - 1)]!;
      if (r instanceof Error) throw r;
      return r;
    },
  } as unknown as JailService & { calls: [string, ExecRequest][] };
}

const exit = (exitCode: number, stderr = ''): ExecOutput => ({ exitCode, stdout: '', stderr });

test('checkCommand: exit 0 passes; otherwise the exit code and the first stderr line', async () => {
  const jails = fakeJails([exit(0), exit(1, '\n  curl: (7) refused  \nmore\n'), exit(2), new Error('no such jail "x"\nstack')]);
  assert.deepEqual(await checkCommand(jails, 'demo.site.0', cmd()), { ok: true });
  assert.deepEqual(await checkCommand(jails, 'demo.site.0', cmd()), { ok: false, message: 'exit 1: curl: (7) refused' });
  assert.deepEqual(await checkCommand(jails, 'demo.site.0', cmd()), { ok: false, message: 'exit 2' });
  assert.deepEqual(await checkCommand(jails, 'demo.site.0', cmd()), { ok: false, message: 'no such jail "x"' });
  assert.deepEqual(jails.calls[0], ['demo.site.0', { command: ['/app/check'], timeoutSeconds: 2 }]);
});

test('command checks through the monitor: healthy, then unhealthy after threshold failures', async () => {
  const jails = fakeJails([exit(1, 'starting'), exit(0), exit(0), exit(3, 'db down'), exit(0), exit(3, 'db down'), exit(3, 'db down')]);
  const mon = new HealthMonitor();
  try {
    const c = changes(2);
    mon.watch('demo.site.0', '10.0.0.2', cmd(), c.onChange, jails);
    assert.deepEqual(await c.done, [{ healthy: true }, { healthy: false, message: 'exit 3: db down' }]);
    assert.ok(jails.calls.length >= 7);
  } finally {
    mon.close();
  }
});
