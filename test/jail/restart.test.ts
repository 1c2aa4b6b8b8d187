import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, decideRestart, RESET_AFTER_MS, type RestartInput } from '../../src/jail/restart.js';

const base: RestartInput = { policy: 'always', wantRunning: true, running: false, exitCode: 1, oomKilled: false, restarts: 0, startedAtMs: 0, diedAtMs: 1000, nowMs: 10_000 };

test('backoff doubles from 0.5 s and stops at 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 7, 20].map(backoffMs), [0, 500, 1000, 2000, 4000, 30_000, 30_000]);
});

test('a running jail or one stopped on purpose is left alone', () => {
  assert.equal(decideRestart({ ...base, running: true }).action, 'none');
  assert.equal(decideRestart({ ...base, wantRunning: false }).action, 'none');
});

test('policy always restarts after any exit, on-failure only after a failure, no never', () => {
  assert.equal(decideRestart({ ...base, exitCode: 0 }).action, 'restart');
  assert.equal(decideRestart({ ...base, policy: 'on-failure', exitCode: 0 }).action, 'record-exit');
  assert.equal(decideRestart({ ...base, policy: 'on-failure', exitCode: 2 }).action, 'restart');
  assert.equal(decideRestart({ ...base, policy: 'on-failure', exitCode: 0, oomKilled: true }).action, 'restart');
  assert.equal(decideRestart({ ...base, policy: 'on-failure', exitCode: null }).action, 'restart', 'unknown exit counts as failure');
  const no = decideRestart({ ...base, policy: 'no', exitCode: 3 });
  assert.equal(no.action, 'record-exit');
  assert.ok(no.action === 'record-exit' && no.failed);
  assert.match(no.reason, /exited with code 3; restart policy "no" keeps it stopped/);
});

test('restarts wait for the backoff, counted from the death', () => {
  const d = decideRestart({ ...base, restarts: 3, diedAtMs: 10_000, nowMs: 11_000 });
  assert.equal(d.action, 'wait');
  assert.ok(d.action === 'wait' && d.untilMs === 10_000 + 4000);
  const r = decideRestart({ ...base, restarts: 3, diedAtMs: 10_000, nowMs: 14_000 });
  assert.deepEqual(r.action === 'restart' && r.restarts, 4);
});

test('a jail that ran long enough starts its backoff over', () => {
  const r = decideRestart({ ...base, restarts: 9, startedAtMs: 0, diedAtMs: RESET_AFTER_MS + 1, nowMs: RESET_AFTER_MS + 600 });
  assert.equal(r.action, 'restart');
  assert.ok(r.action === 'restart' && r.restarts === 1);
});

test('OOM kills are named in the reason', () => {
  assert.match(decideRestart({ ...base, oomKilled: true, nowMs: 100_000 }).reason, /OOM-killed/);
});
