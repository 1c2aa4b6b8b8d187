// RuncRuntime's classification and log handling with a recording exec that answers like
// runc 1.1.5 (messages from real runs). The real thing: runtime.int.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuncRuntime } from '../../src/jail/runtime.js';
import { ExecError } from '../../src/sys/errors.js';
import type { Exec, ExecOptions } from '../../src/sys/exec.js';

const NOT_FOUND = 'time="2026-11-25T06:33:36Z" level=error msg="container does not exist"\n';
const STATE = '{"ociVersion":"1.0.2-dev","id":"web","pid":42,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-11-25T06:33:36Z","annotations":{"org.cellblock.jail":"web"},"owner":""}';

function recorder(answer: (argv: readonly string[], opts?: ExecOptions) => Promise<string> | string) {
  const calls: { argv: string; opts?: ExecOptions }[] = [];
  const exec: Exec = async (argv, opts) => {
    calls.push({ argv: argv.join(' '), opts });
    return { stdout: await answer(argv, opts), stderr: '', code: 0 };
  };
  return { exec, calls };
}
const fail = (argv: readonly string[], code: number, stderr: string) => { throw new ExecError(argv, code, stderr); };

test('state: parsed, or undefined for an unknown container', async () => {
  const r = recorder((a) => (a.includes('web') ? STATE : fail(a, 1, NOT_FOUND)));
  const rt = new RuncRuntime(r.exec, '/data/runc');
  assert.equal((await rt.state('web'))?.pid, 42);
  assert.equal(await rt.state('nope'), undefined);
  assert.deepEqual(r.calls.map((c) => c.argv), ['runc --root /data/runc state web', 'runc --root /data/runc state nope']);
});

test('delete is forced and idempotent; other failures pass through classified', async () => {
  const gone = new RuncRuntime(recorder((a) => fail(a, 1, NOT_FOUND)).exec, '/r');
  await gone.delete('web');
  const broken = new RuncRuntime(recorder((a) => fail(a, 1, 'level=error msg="permission denied"')).exec, '/r');
  await assert.rejects(broken.delete('web'), (e: unknown) => e instanceof ExecError && e.kind === 'failed');
  const r = recorder(() => '');
  await RuncRuntime.forDataDir(r.exec, '/var/lib/cellblock').delete('web');
  assert.deepEqual(r.calls.map((c) => c.argv), ['runc --root /var/lib/cellblock/runc delete --force web']);
});

test('kill reports false for unknown and stopped containers', async () => {
  const rt = new RuncRuntime(recorder((a) => (a.includes('web') ? fail(a, 1, 'level=error msg="container not running"') : a.includes('x') ? fail(a, 1, NOT_FOUND) : '')).exec, '/r');
  assert.equal(await rt.kill('web'), false);
  assert.equal(await rt.kill('x'), false);
  assert.equal(await rt.kill('ok', 'KILL', { all: true }), true);
});

test('list parses runc\'s null', async () => {
  assert.deepEqual(await new RuncRuntime(recorder(() => 'null\n').exec, '/r').list(), []);
});

test('execIn classifies an unknown container and passes exit codes through', async () => {
  const rt = new RuncRuntime(recorder((a) => fail(a, 255, 'level=error msg="exec failed: container does not exist"')).exec, '/r');
  await assert.rejects(rt.execIn('nope', ['/usr/bin/true']), (e: unknown) => e instanceof ExecError && e.kind === 'not-found');
  const r = recorder(() => 'hi\n');
  const res = await new RuncRuntime(r.exec, '/r').execIn('web', ['/usr/bin/echo', 'hi'], { user: '0:0', okCodes: [0, 1] });
  assert.equal(res.stdout, 'hi\n');
  assert.equal(r.calls[0]!.argv, 'runc --root /r exec --user 0:0 web /usr/bin/echo hi');
  assert.deepEqual(r.calls[0]!.opts?.okCodes, [0, 1]);
});

test('run passes the log file as stdout/stderr, logs runc to the bundle, returns the pid', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cb-rt-'));
  try {
    const bundle = join(dir, 'bundle');
    await mkdir(bundle);
    const r = recorder(async (_a, opts) => {
      assert.equal(typeof opts?.outputFd, 'number');
      await writeFile(join(bundle, 'init.pid'), '4242');
      return '';
    });
    const pid = await new RuncRuntime(r.exec, join(dir, 'runc')).run('web', bundle, join(dir, 'web.log'));
    assert.equal(pid, 4242);
    assert.equal(r.calls[0]!.argv, `runc --root ${dir}/runc --log ${bundle}/runc.log --log-format json run --bundle ${bundle} --detach --pid-file ${bundle}/init.pid web`);
    await readFile(join(dir, 'web.log')); // created
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failed run carries the reasons from runc\'s log, and "exists" is classified', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cb-rt-'));
  try {
    const bundle = join(dir, 'bundle');
    await mkdir(bundle);
    const answer = (msg: string) => async (a: readonly string[]) => {
      await writeFile(join(bundle, 'runc.log'), `{"level":"info","msg":"x"}\n{"level":"error","msg":${JSON.stringify(msg)}}\n`);
      return fail(a, 1, '');
    };
    const rt1 = new RuncRuntime(recorder(answer('runc run failed: unable to start container process: error setting rlimit type 7: operation not permitted')).exec, join(dir, 'runc'));
    await assert.rejects(rt1.run('web', bundle, join(dir, 'web.log')),
      (e: unknown) => e instanceof ExecError && e.kind === 'failed' && /rlimit type 7: operation not permitted/.test(e.message) && e.argv.includes('run'));
    const rt2 = new RuncRuntime(recorder(answer('runc run failed: container with given ID already exists')).exec, join(dir, 'runc'));
    await assert.rejects(rt2.run('web', bundle, join(dir, 'web.log')), (e: unknown) => e instanceof ExecError && e.kind === 'exists');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
