import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ExecError, NotFoundError, NotSupportedError } from '../../src/sys/errors.js';
import { errorFields, logError, logged } from '../../src/sys/log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
  return { log: pino({ base: null, timestamp: false }, dest), lines };
}

test('an ExecError keeps its command, exit code and stderr', () => {
  const f = errorFields(new ExecError(['btrfs', 'subvolume', 'delete', '/p/x'], 1, 'ERROR: Could not statfs: No such file\n', 'not-found'));
  assert.equal(f.kind, 'exec');
  assert.equal(f.command, 'btrfs subvolume delete /p/x');
  assert.equal(f.exitCode, 1);
  assert.equal(f.stderr, 'ERROR: Could not statfs: No such file');
  assert.equal(f.failure, 'not-found');
  assert.equal(f.stack, undefined);
});

test('a UserError keeps message and fix, without a stack', () => {
  const f = errorFields(new NotFoundError('no jail named web', 'see cellblock jail ls'));
  assert.deepEqual(f, { kind: 'user', type: 'NotFoundError', message: 'no jail named web', fix: 'see cellblock jail ls' });
});

test('a bug keeps its stack, code and cause', () => {
  const inner = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
  const f = errorFields(new TypeError('x is undefined', { cause: inner }));
  assert.equal(f.kind, 'bug');
  assert.equal(f.type, 'TypeError');
  assert.match(f.stack ?? '', /TypeError: x is undefined\n\s+at /);
  assert.equal(f.cause?.code, 'ENOENT');
  assert.equal(errorFields(new NotSupportedError('quotas', 'the dir driver has none')).kind, 'not-supported');
  assert.deepEqual(errorFields('a string'), { kind: 'bug', type: 'string', message: 'a string' });
});

test('logError and logged write the fields at their level', async () => {
  const { log, lines } = capture();
  logError(log, new ExecError(['ip', 'link'], 2, 'boom'), 'wiring failed', { jail: 'web' });
  logged(log, 'announce failed; retrying')(new Error('etcd down'));
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.level, 50);
  assert.equal(lines[0]!.jail, 'web');
  assert.equal((lines[0]!.err as { stderr: string }).stderr, 'boom');
  assert.equal(lines[1]!.level, 40);
  assert.match((lines[1]!.err as { stack: string }).stack, /etcd down/);
});
