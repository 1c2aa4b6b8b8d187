import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { exec, hasTool, spawnStream, whichTool } from '../../src/sys/exec.js';
import { ExecError } from '../../src/sys/errors.js';

async function execError(p: Promise<unknown>): Promise<ExecError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ExecError, `expected an ExecError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the command to fail');
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

test('/bin/true succeeds with empty output and code 0', async () => {
  assert.deepEqual(await exec(['/bin/true']), { stdout: '', stderr: '', code: 0 });
});

test('/bin/false throws ExecError kind failed with exit code 1 and the command in the message', async () => {
  const e = await execError(exec(['/bin/false']));
  assert.equal(e.kind, 'failed');
  assert.equal(e.exitCode, 1);
  assert.deepEqual(e.argv, ['/bin/false']);
  assert.equal(e.message, 'command failed: /bin/false: exited with code 1');
});

test('okCodes make other exit codes count as success', async () => {
  assert.equal((await exec(['/bin/false'], { okCodes: [0, 1] })).code, 1);
  const e = await execError(exec(['/bin/true'], { okCodes: [1] }));
  assert.equal(e.exitCode, 0);
});

test('/bin/echo output is captured', async () => {
  const r = await exec(['/bin/echo', 'hello', 'world']);
  assert.equal(r.stdout, 'hello world\n');
});

test('arguments with spaces, quotes and shell characters reach the command literally', async () => {
  const args = ['a b', `it's`, '"q"', '$HOME', '`id`', '; rm -rf /', '*', '\\n', ''];
  const r = await exec(['/usr/bin/printf', '%s|', ...args]);
  assert.equal(r.stdout, args.map((a) => `${a}|`).join(''));
});

test('arguments with NUL bytes and empty commands are refused before anything runs', async () => {
  await assert.rejects(exec(['/bin/echo', 'a\0b']), /NUL byte/);
  await assert.rejects(exec([]), /empty command/);
  await assert.rejects(exec(['']), /empty command/);
});

test('/bin/cat reads a string input', async () => {
  assert.equal((await exec(['/bin/cat'], { input: 'line 1\nline 2\n' })).stdout, 'line 1\nline 2\n');
});

test('/bin/cat reads a Buffer input', async () => {
  assert.equal((await exec(['/bin/cat'], { input: Buffer.from([0x68, 0x69]) })).stdout, 'hi');
});

test('/bin/cat reads a Readable stream input', async () => {
  const input = Readable.from(['chunk one, ', 'chunk two, ', 'chunk three']);
  assert.equal((await exec(['/bin/cat'], { input })).stdout, 'chunk one, chunk two, chunk three');
});

test('a large stream passes through cat intact', async () => {
  const block = 'x'.repeat(64 * 1024);
  const input = Readable.from((function* () { for (let i = 0; i < 32; i++) yield block; })());
  const r = await exec(['/bin/cat'], { input });
  assert.equal(r.stdout.length, 32 * block.length);
});

test('stderr is captured into the error message with the command and exit code', async () => {
  const e = await execError(exec(['/bin/cat', '/nonexistent/cellblock-test-file']));
  assert.equal(e.kind, 'failed');
  assert.equal(e.exitCode, 1);
  assert.match(e.stderr, /No such file or directory/);
  assert.match(e.message, /^command failed: \/bin\/cat \/nonexistent\/cellblock-test-file: exited with code 1: .*No such file or directory$/);
});

test('stderr is returned on success too', async () => {
  const r = await exec(['/bin/ls', '/nonexistent/cellblock-test-file', '/'], { okCodes: [0, 2] });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nonexistent/);
  assert.match(r.stdout, /\bproc\b/);
});

test('the message quotes arguments with spaces for display', async () => {
  const e = await execError(exec(['/bin/cat', '/nonexistent/a b']));
  assert.match(e.message, /^command failed: \/bin\/cat '\/nonexistent\/a b': exited with code 1/);
  assert.equal(e.command, `/bin/cat '/nonexistent/a b'`);
});

test('timeoutMs kills the command and throws kind timeout', async () => {
  const started = Date.now();
  const e = await execError(exec(['/bin/sleep', '10'], { timeoutMs: 100 }));
  assert.equal(e.kind, 'timeout');
  assert.equal(e.signal, 'SIGKILL');
  assert.match(e.message, /^command failed: \/bin\/sleep 10: timed out/);
  assert.ok(Date.now() - started < 5000);
});

test('an AbortSignal kills the command and throws kind aborted', async () => {
  const ac = new AbortController();
  const p = exec(['/bin/sleep', '10'], { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  const e = await execError(p);
  assert.equal(e.kind, 'aborted');
  assert.match(e.message, /was aborted/);
});

test('an already aborted signal throws without running anything', async () => {
  const e = await execError(exec(['/bin/sleep', '10'], { signal: AbortSignal.abort() }));
  assert.equal(e.kind, 'aborted');
  assert.equal(e.exitCode, null);
});

test('a missing binary throws kind missing-tool pointing at host bootstrap', async () => {
  const e = await execError(exec(['cellblock-no-such-tool-xyz', '--version']));
  assert.equal(e.kind, 'missing-tool');
  assert.equal(e.exitCode, null);
  assert.match(e.message, /cellblock-no-such-tool-xyz is not installed \(run: cellblock host bootstrap\)/);
});

test('cwd and env are passed to the command', async () => {
  assert.equal((await exec(['/bin/pwd'], { cwd: '/tmp' })).stdout, '/tmp\n');
  const r = await exec(['/usr/bin/env'], { env: { CELLBLOCK_TEST: 'a b' } });
  assert.equal(r.stdout, 'CELLBLOCK_TEST=a b\n');
});

test('spawnStream pipes one command into another', async () => {
  const src = spawnStream(['/bin/echo', 'streamed through cat']);
  const cat = spawnStream(['/bin/cat'], { input: src.stdout });
  const [out] = await Promise.all([readAll(cat.stdout), src.done, cat.done]);
  assert.equal(out, 'streamed through cat\n');
  assert.equal((await cat.done).code, 0);
  assert.equal(typeof cat.pid, 'number');
});

test('spawnStream stdin can be written directly', async () => {
  const cat = spawnStream(['/bin/cat']);
  cat.stdin.end('written to stdin');
  assert.equal(await readAll(cat.stdout), 'written to stdin');
  await cat.done;
});

test('spawnStream done rejects with ExecError on failure and on kill', async () => {
  const bad = spawnStream(['/bin/cat', '/nonexistent/cellblock-test-file']);
  await readAll(bad.stdout);
  const e = await execError(bad.done);
  assert.equal(e.exitCode, 1);
  assert.match(e.message, /No such file/);

  const long = spawnStream(['/bin/sleep', '10']);
  long.kill();
  const k = await execError(long.done);
  assert.equal(k.signal, 'SIGTERM');
  assert.match(k.message, /was killed by SIGTERM/);
});

test('spawnStream honours timeoutMs and a missing binary', async () => {
  const slow = spawnStream(['/bin/sleep', '10'], { timeoutMs: 100 });
  assert.equal((await execError(slow.done)).kind, 'timeout');
  const missing = spawnStream(['cellblock-no-such-tool-xyz']);
  assert.equal((await execError(missing.done)).kind, 'missing-tool');
});

test('whichTool and hasTool find executables on PATH', async () => {
  assert.match((await whichTool('cat')) ?? '', /\/cat$/);
  assert.equal(await hasTool('cat'), true);
  assert.equal(await whichTool('cellblock-no-such-tool-xyz'), undefined);
  assert.equal(await hasTool('cellblock-no-such-tool-xyz'), false);
});
