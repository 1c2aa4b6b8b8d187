import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requiredMissingError, statusCell } from '../../src/cli/commands/host/check.js';
import type { CheckResult } from '../../src/sys/host-checks.js';

const r = (over: Partial<CheckResult>): CheckResult => ({
  name: 'x', kind: 'tool', required: true, neededFor: 'core', status: 'missing', detail: '', fix: 'do it', ...over,
});

test('statusCell: required missing shouts, later ones say what for', () => {
  assert.equal(statusCell(r({ status: 'present' })), 'present');
  assert.equal(statusCell(r({})), 'MISSING');
  assert.equal(statusCell(r({ required: false, neededFor: 'db' })), 'missing (for db)');
  assert.equal(statusCell(r({ required: false, neededFor: 'optional', kind: 'kernel' })), 'missing (optional)');
});

test('requiredMissingError names the items; tools -> bootstrap, kernel -> its own fix', () => {
  const e = requiredMissingError([r({ name: 'runc' }), r({ name: 'loop', kind: 'kernel', fix: 'modprobe loop' })]);
  assert.equal(e.message, 'this host lacks what storage and jails need: runc, loop');
  assert.equal(e.fix, 'run `cellblock host bootstrap`; loop: modprobe loop');
  assert.equal(requiredMissingError([r({ name: 'loop', kind: 'kernel', fix: 'modprobe loop' })]).fix, 'loop: modprobe loop');
});
