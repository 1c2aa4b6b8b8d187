import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FULL_CHECK_MS, RunningCache, parseProcStat } from '../../src/jail/liveness.js';
import type { RuncState } from '../../src/jail/runc.js';

// captured from Debian 12 (a tini running as a jail's init), and a comm with spaces and ')'
const STAT = '4242 (tini) S 4240 4242 4242 0 -1 1077936384 262 0 0 0 0 0 0 0 20 0 1 0 987654 2424832 194 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';
const STAT_ODD = '77 (a (b) c) Z 1 77 77 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 555 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0';

test('parseProcStat reads the state letter and the start time (field 22)', () => {
  assert.deepEqual(parseProcStat(STAT), { state: 'S', startTime: '987654' });
  assert.deepEqual(parseProcStat(STAT_ODD), { state: 'Z', startTime: '555' });
  assert.equal(parseProcStat('garbage'), undefined);
});

function rig() {
  const st: RuncState = { id: 'web', pid: 4242, status: 'running', bundle: '/b', created: 'x', annotations: {} };
  const r = { asked: 0, state: st as RuncState | undefined };
  const procs = new Map<number, string>([[4242, STAT]]);
  const clock = { now: 0 };
  const cache = new RunningCache(
    { state: async () => { r.asked++; return r.state; } },
    () => clock.now,
    async (pid) => { const t = procs.get(pid); if (!t) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); return t; },
  );
  return { r, procs, clock, cache };
}

test('runc is asked once while the same process runs, and again after FULL_CHECK_MS', async () => {
  const { r, clock, cache } = rig();
  for (let i = 0; i < 5; i++) assert.equal((await cache.state('web'))?.status, 'running');
  assert.equal(r.asked, 1);
  clock.now = FULL_CHECK_MS;
  await cache.state('web');
  assert.equal(r.asked, 2);
});

test('a process gone, a zombie or a PID reused by another process sends the question to runc', async () => {
  const { r, procs, cache } = rig();
  await cache.state('web');
  procs.delete(4242); // exited
  r.state = { ...r.state!, status: 'stopped' };
  assert.equal((await cache.state('web'))?.status, 'stopped');
  assert.equal(r.asked, 2);
  await cache.state('web'); // not running: runc every time
  assert.equal(r.asked, 3);

  r.state = { ...r.state!, status: 'running' };
  procs.set(4242, STAT);
  await cache.state('web');
  procs.set(4242, STAT.replace(' 987654 ', ' 999999 ')); // same PID, another process
  r.state = { ...r.state!, status: 'stopped' };
  assert.equal((await cache.state('web'))?.status, 'stopped');
  r.state = { ...r.state!, status: 'running' };
  procs.set(4242, STAT);
  await cache.state('web');
  const asked = r.asked;
  procs.set(4242, STAT.replace(') S ', ') Z ')); // died, not reaped yet
  await cache.state('web');
  assert.equal(r.asked, asked + 1);
});

test('forget() drops what was known', async () => {
  const { r, cache } = rig();
  await cache.state('web');
  cache.forget('web');
  await cache.state('web');
  assert.equal(r.asked, 2);
});
