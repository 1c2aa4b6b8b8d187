import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { formatError } from '../../src/cli/main.js';
import { ExecError, ExistsError, NotFoundError, NotSupportedError, UserError } from '../../src/sys/errors.js';
import { exec } from '../../src/sys/exec.js';

// dist/test/cli/main.test.js -> the repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = `${ROOT}bin/cellblock`;

/** Runs the real entry point; any exit code is accepted so the test can assert on it. */
function cellblock(...args: string[]) {
  return exec([process.execPath, BIN, ...args], { cwd: ROOT, timeoutMs: 30_000, okCodes: Array.from({ length: 256 }, (_, i) => i) });
}

test('formatError: UserError prints the message and a fix line, exit 1, no stack', () => {
  const { text, code } = formatError(new UserError('pool "x" does not exist', 'run: cellblock pool ls'));
  assert.equal(code, 1);
  assert.equal(text, 'error: pool "x" does not exist\n  fix: run: cellblock pool ls');
  assert.doesNotMatch(text, /\bat /);
});

test('formatError: UserError without a fix prints only the message', () => {
  assert.deepEqual(formatError(new UserError('bad input')), { text: 'error: bad input', code: 1 });
});

test('formatError: NotFoundError and ExistsError are user errors', () => {
  assert.deepEqual(formatError(new NotFoundError('no such image site:v1', 'run: cellblock image ls')), {
    text: 'error: no such image site:v1\n  fix: run: cellblock image ls', code: 1,
  });
  assert.equal(formatError(new ExistsError('pool default exists')).code, 1);
});

test('formatError: ExecError prints the command, exit code and stderr, exit 2', () => {
  const { text, code } = formatError(new ExecError(['btrfs', 'subvolume', 'create', '/p/a b'], 1, 'ERROR: target exists\n'));
  assert.equal(code, 2);
  assert.equal(text, `error: command failed: btrfs subvolume create '/p/a b': exited with code 1: ERROR: target exists`);
});

test('formatError: ExecError for a missing tool points at host bootstrap', () => {
  const { text, code } = formatError(new ExecError(['runc', 'list'], null, '', 'missing-tool'));
  assert.equal(code, 2);
  assert.match(text, /runc is not installed \(run: cellblock host bootstrap\)/);
});

test('formatError: NotSupportedError exits 3 and says why', () => {
  const { text, code } = formatError(new NotSupportedError('snapshots on the dir driver', 'use btrfs or zfs'));
  assert.equal(code, 3);
  assert.equal(text, 'error: snapshots on the dir driver is not supported: use btrfs or zfs');
});

test('formatError: anything else is a bug: internal error with the stack, exit 70', () => {
  const bug = new TypeError('cannot read properties of undefined');
  const { text, code } = formatError(bug);
  assert.equal(code, 70);
  assert.match(text, /^internal error \(a bug in cellblock; please report it with this output\):\n/);
  assert.match(text, /TypeError: cannot read properties of undefined/);
  assert.match(text, /\n\s+at /, 'the stack is printed');
});

test('formatError: a thrown non-Error is a bug too', () => {
  const { text, code } = formatError('a string');
  assert.equal(code, 70);
  assert.match(text, /internal error.*\na string$/);
});

test('bin/cellblock --help lists the command groups and exits 0', async () => {
  const r = await cellblock('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: cellblock /);
  assert.match(r.stdout, /\bhost\b/);
  assert.match(r.stdout, /\bpool\b/);
  assert.match(r.stdout, /--json/);
});

test('bin/cellblock host --help describes check and bootstrap with examples', async () => {
  const r = await cellblock('host', '--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: cellblock host/);
  assert.match(r.stdout, /\bcheck\b/);
  assert.match(r.stdout, /\bbootstrap\b/);
  assert.match(r.stdout, /Examples:/);
});

test('every host command has a description and examples in --help', async () => {
  for (const sub of ['check', 'bootstrap']) {
    const r = await cellblock('host', sub, '--help');
    assert.equal(r.code, 0, sub);
    assert.match(r.stdout, new RegExp(`Usage: cellblock host ${sub}`));
    assert.match(r.stdout, /Examples:\n {2}cellblock host /, sub);
  }
});

test('bin/cellblock with an unknown command fails and says so', async () => {
  const r = await cellblock('frobnicate');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.equal(r.stdout, '');
});

test('bin/cellblock host with an unknown subcommand fails and says so', async () => {
  const r = await cellblock('host', 'frobnicate');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test('bin/cellblock with an unknown option fails and says so', async () => {
  const r = await cellblock('host', 'check', '--frobnicate');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown option '--frobnicate'/);
});

test('bin/cellblock --version prints the version', async () => {
  const r = await cellblock('--version');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});
