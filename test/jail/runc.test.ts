// runc argv builders (deep equality); parsers and error patterns on output captured from
// runc 1.1.5 (Debian 12) in test/fixtures/jail/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  parseRuncList, parseRuncLogErrors, parseRuncState, runc, runcCreate, runcDelete, runcExec, runcKill, runcList, runcRoot,
  runcRun, runcStart, runcState, RUNC_EXISTS_RE, RUNC_NOT_FOUND_RE, RUNC_NOT_RUNNING_RE,
} from '../../src/jail/runc.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/jail/', import.meta.url));
const fixture = (n: string) => readFileSync(FIX + n, 'utf8');
const g = { root: '/var/lib/cellblock/runc' };

test('every command names the per-data-dir state root', () => {
  assert.equal(runcRoot('/var/lib/cellblock'), '/var/lib/cellblock/runc');
  assert.deepEqual(runc(g, 'list'), ['runc', '--root', '/var/lib/cellblock/runc', 'list']);
  assert.deepEqual(runc({ ...g, log: '/b/runc.log' }, 'list'), ['runc', '--root', '/var/lib/cellblock/runc', '--log', '/b/runc.log', '--log-format', 'json', 'list']);
});

test('lifecycle commands', () => {
  const R = ['runc', '--root', '/var/lib/cellblock/runc'];
  assert.deepEqual(runcCreate(g, 'web', '/b'), [...R, 'create', '--bundle', '/b', 'web']);
  assert.deepEqual(runcCreate(g, 'web', '/b', { pidFile: '/b/init.pid' }), [...R, 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'web']);
  assert.deepEqual(runcStart(g, 'web'), [...R, 'start', 'web']);
  assert.deepEqual(runcRun(g, 'web', '/b'), [...R, 'run', '--bundle', '/b', 'web']);
  assert.deepEqual(runcRun(g, 'web', '/b', { detach: true, keep: true, pidFile: '/b/init.pid' }), [...R, 'run', '--bundle', '/b', '--detach', '--keep', '--pid-file', '/b/init.pid', 'web']);
  assert.deepEqual(runcState(g, 'web'), [...R, 'state', 'web']);
  assert.deepEqual(runcKill(g, 'web'), [...R, 'kill', 'web', 'TERM']);
  assert.deepEqual(runcKill(g, 'web', 'KILL', { all: true }), [...R, 'kill', '--all', 'web', 'KILL']);
  assert.deepEqual(runcDelete(g, 'web'), [...R, 'delete', 'web']);
  assert.deepEqual(runcDelete(g, 'web', { force: true }), [...R, 'delete', '--force', 'web']);
  assert.deepEqual(runcList(g), [...R, 'list', '--format', 'json']);
});

test('exec puts options before the id and the argv untouched after it', () => {
  const R = ['runc', '--root', '/var/lib/cellblock/runc'];
  assert.deepEqual(runcExec(g, 'web', ['/usr/bin/touch', '/usr/x']), [...R, 'exec', 'web', '/usr/bin/touch', '/usr/x']);
  assert.deepEqual(runcExec(g, 'web', ['/usr/bin/env', '-i'], { user: '1000:1000', cwd: '/tmp', env: ['A=1', 'B=2'] }),
    [...R, 'exec', '--user', '1000:1000', '--cwd', '/tmp', '--env', 'A=1', '--env', 'B=2', 'web', '/usr/bin/env', '-i']);
});

test('parseRuncState on a running and a stopped container', () => {
  const running = parseRuncState(fixture('runc-state-running.json'));
  assert.equal(running.id, 'cap1');
  assert.equal(running.status, 'running');
  assert.ok(running.pid > 1);
  assert.match(running.bundle, /^\/tmp\/cbcap-/);
  assert.match(running.created, /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(running.annotations, { 'org.cellblock.image': 'site:v1', 'org.cellblock.instance': 'capx', 'org.cellblock.jail': 'cap1', 'org.cellblock.restart': 'no' });
  const stopped = parseRuncState(fixture('runc-state-stopped.json'));
  assert.equal(stopped.status, 'stopped');
  assert.equal(stopped.pid, 0);
});

test('parseRuncList: runc prints null for none', () => {
  assert.deepEqual(parseRuncList(fixture('runc-list.json')).map((s) => [s.id, s.status]), [['cap1', 'running']]);
  assert.deepEqual(parseRuncList('null\n'), []);
  assert.deepEqual(parseRuncList(''), []);
});

test('error patterns match what runc 1.1.5 prints', () => {
  const e = JSON.parse(fixture('runc-errors.json')) as Record<string, string>;
  assert.match(e.notFound!, RUNC_NOT_FOUND_RE);
  assert.match(e.execNotFound!, RUNC_NOT_FOUND_RE);
  assert.match(e.notRunning!, RUNC_NOT_RUNNING_RE);
  assert.doesNotMatch(e.notRunning!, RUNC_NOT_FOUND_RE);
  assert.match('runc run failed: container with given ID already exists', RUNC_EXISTS_RE);
});

test('parseRuncLogErrors keeps error and fatal messages of a json log', () => {
  const log = [
    '{"level":"debug","msg":"nsexec started","time":"2026-11-25T06:33:36Z"}',
    '{"level":"error","msg":"nsexec-1[10550]: failed to open /proc/1/ns/net: Permission denied","time":"2026-11-25T06:33:36Z"}',
    'not json',
    '{"level":"error","msg":"runc run failed: unable to start container process: can\'t get final child\'s PID from pipe: EOF","time":"2026-11-25T06:33:36Z"}',
    '{"level":"fatal","msg":"boom"}',
    '',
  ].join('\n');
  assert.deepEqual(parseRuncLogErrors(log), [
    'nsexec-1[10550]: failed to open /proc/1/ns/net: Permission denied',
    "runc run failed: unable to start container process: can't get final child's PID from pipe: EOF",
    'boom',
  ]);
  assert.deepEqual(parseRuncLogErrors(''), []);
});
