// wrk's output parsed, on captured wrk 4.1 (Debian 12) output: test/fixtures/bench/wrk-*.txt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseWrk, wrkArgv, wrkDurationMs } from '../../bench/lb-wrk.js';

const fixture = (n: string) => readFileSync(fileURLToPath(new URL(`../../../test/fixtures/bench/${n}`, import.meta.url)), 'utf8');

test('parseWrk: requests, requests/s, p50, p99, no failures', () => {
  assert.deepEqual(parseWrk(fixture('wrk-ok.txt')), { requests: 172, rps: 84.45, p50: 45.02, p99: 101.69, failed: 0, failures: '' });
});

test('parseWrk: non-2xx answers count as failed', () => {
  const r = parseWrk(fixture('wrk-404.txt'));
  assert.equal(r.failed, 896);
  assert.equal(r.requests, 896);
});

test('parseWrk: socket errors count as failed', () => {
  const r = parseWrk('  10 requests in 1.00s, 1KB read\n  Socket errors: connect 1, read 2, write 0, timeout 3\nRequests/sec: 10.00\n');
  assert.equal(r.failed, 6);
  assert.equal(r.failures, 'connect 1, read 2, timeout 3');
});

test('wrkDurationMs and wrkArgv', () => {
  assert.equal(wrkDurationMs('850.00us'), 0.85);
  assert.equal(wrkDurationMs('2.01s'), 2010);
  assert.deepEqual(wrkArgv('http://10.1.0.100/', { seconds: 5, host: 'a.test' }), ['wrk', '--latency', '-t', '2', '-c', '16', '-d', '5s', '--timeout', '2s', '-H', 'Host: a.test', 'http://10.1.0.100/']);
});
