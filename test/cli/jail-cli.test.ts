// The real `cellblock jail` entry point against an in-process agent API serving a fake
// JailService on DATA_DIR/run/agent.sock: what each command sends and how it prints.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, hasTool, spawnStream } from '../../src/sys/exec.js';
import { ExecError } from '../../src/sys/errors.js';
import { startHarness, waitFor, type Harness } from '../helpers/api-harness.js';

const skip = process.getuid?.() !== 0 && 'the agent socket is root-only';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = `${ROOT}bin/cellblock`;
const ANY = Array.from({ length: 256 }, (_, i) => i);

describe('cellblock jail', { skip }, () => {
  let h: Harness;
  const cellblock = (...args: string[]) => exec([process.execPath, BIN, '--data-dir', h.dir, ...args], { cwd: ROOT, timeoutMs: 30_000, okCodes: ANY });
  const calls = (method: string) => h.fake.calls.filter((c) => c.method === method).map((c) => c.args);

  before(async () => { h = await startHarness('cellblock-cli-jail-'); });
  after(async () => { await h?.close(); });
  beforeEach(() => {
    h.fake.calls.length = 0;
    h.fake.jails.clear();
    h.fake.execResult = { exitCode: 0, stdout: 'out\n', stderr: '' };
  });

  test('create with every flag sends exactly that request', async () => {
    const r = await cellblock('jail', 'create', 'web', '--image', 'site:v1', '--ip', '10.77.0.9', '--memory', '256M', '--cpus', '0.5',
      '--pids', '256', '--disk', '2G', '--env', 'A=1', '--env', 'B=two words', '--user', '1000:1000', '--rw', '/var/lib/app', '--rw', '/srv/data',
      '--restart', 'always', '--start', '--', '/bin/sh', '-c', 'exec python3 -m http.server --bind 0.0.0.0', '--port', '80');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'created jail web (10.77.0.9, image site:v1, running as pid 4242)\n');
    assert.deepEqual(calls('create'), [[{
      name: 'web', image: 'site:v1', ip: '10.77.0.9', memory: '256M', cpus: '0.5', pids: '256', disk: '2G',
      env: ['A=1', 'B=two words'], user: '1000:1000', rw: ['/var/lib/app', '/srv/data'], restart: 'always',
      command: ['/bin/sh', '-c', 'exec python3 -m http.server --bind 0.0.0.0', '--port', '80'], start: true,
    }]]);
  });

  test('create with only what is required leaves the rest to the agent', async () => {
    const r = await cellblock('jail', 'create', 'web', '--image', 'site:v1', '--', '/bin/true');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'created jail web (10.77.0.2, image site:v1)\n');
    assert.deepEqual(calls('create'), [[{ name: 'web', image: 'site:v1', command: ['/bin/true'] }]]);
  });

  test('create without a command or an image is refused before asking the agent', async () => {
    const r = await cellblock('jail', 'create', 'web', '--image', 'site:v1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: the command to run is missing\n {2}fix: put it after "--", for example: cellblock jail create web --image site:v1 -- /);
    const noImage = await cellblock('jail', 'create', 'web', '--', '/bin/true');
    assert.equal(noImage.code, 1);
    assert.match(noImage.stderr, /required option '--image <NAME:TAG>' not specified/);
    assert.deepEqual(h.fake.calls, []);
  });

  test('the agent\'s refusals print as in-process: message and fix, exit 1; a failed tool exits 2', async () => {
    const r = await cellblock('jail', 'start', 'nope');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: no such jail "nope"\n  fix: run: cellblock jail ls\n');
    await h.fake.create({ name: 'web', image: 'site:v1', command: ['/bin/true'] });
    h.fake.fail('start', new ExecError(['runc', 'start', 'web'], 1, 'cannot start\n'));
    const x = await cellblock('jail', 'start', 'web');
    assert.equal(x.code, 2);
    assert.equal(x.stderr, 'error: command failed: runc start web: exited with code 1: cannot start\n');
  });

  test('ls prints a table, or JSON with --json; (none) when empty', async () => {
    assert.equal((await cellblock('jail', 'ls')).stdout, '(none)\n');
    await h.fake.create({ name: 'web', image: 'site:v1', command: ['/bin/true'], start: true });
    await h.fake.create({ name: 'db', image: 'pg:16', ip: '10.77.0.20', command: ['/bin/postgres'] });
    h.fake.jails.get('web')!.view.disk = { limitBytes: 1024 ** 3, usedBytes: 12 * 1024 ** 2, enforced: true };
    h.fake.jails.get('db')!.view.disk = { limitBytes: 5 * 1024 ** 3, usedBytes: null, enforced: false };
    const r = await cellblock('jail', 'ls');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), [
      'NAME  STATE    IP          IMAGE    RESTARTS  PID   DISK',
      'web   running  10.77.0.2   site:v1  0         4242  12.0M / 1.00G',
      'db    created  10.77.0.20  pg:16    0         -     ? / 5.00G (not enforced by this pool\'s driver)',
      '',
    ]);
    const j = await cellblock('jail', 'ls', '--json');
    assert.deepEqual(JSON.parse(j.stdout).map((v: { name: string }) => v.name), ['web', 'db']);
  });

  test('inspect shows usage against limits; --json the whole document', async () => {
    await h.fake.create({ name: 'web', image: 'site:v1', memory: '256M', cpus: '0.5', pids: '256', env: ['A=1'], rw: ['/var/lib/app'], user: '1000:1000', command: ['/bin/sh', '-c', 'echo hi'], start: true });
    const r = await cellblock('jail', 'inspect', 'web');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^name +web$/m);
    assert.match(r.stdout, /^state +running \(pid 4242\) since 2024-01-01T00:00:01.000Z$/m);
    assert.match(r.stdout, /^memory +12\.3M \/ 256M$/m);
    assert.match(r.stdout, /^cpu +1\.3s used, limit 0\.5 CPUs$/m);
    assert.match(r.stdout, /^pids +3 \/ 256$/m);
    assert.match(r.stdout, /^command +\/bin\/sh -c 'echo hi'$/m);
    assert.match(r.stdout, /^env +A=1$/m);
    const j = JSON.parse((await cellblock('jail', 'inspect', 'web', '--json')).stdout);
    assert.equal(j.spec.memoryBytes, 256 * 1024 * 1024);
    assert.equal(j.paths.netns, '/run/netns/cb-web@x');
  });

  test('exec prints the output and exits with the command\'s exit code', async () => {
    await h.fake.create({ name: 'web', image: 'site:v1', command: ['/bin/true'], start: true });
    h.fake.execResult = { exitCode: 3, stdout: 'to stdout\n', stderr: 'to stderr\n' };
    const r = await cellblock('jail', 'exec', '--user', '0', '--env', 'X=1', '--timeout', '5', 'web', '--', '/bin/sh', '-c', 'exit 3');
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'to stdout\n');
    assert.equal(r.stderr, 'to stderr\n');
    assert.deepEqual(calls('exec'), [['web', { command: ['/bin/sh', '-c', 'exit 3'], user: '0', env: ['X=1'], timeoutSeconds: 5 }]]);
    h.fake.execResult = { exitCode: 0, stdout: 'fine\n', stderr: '' };
    const ok = await cellblock('jail', 'exec', 'web', '--', '/bin/true');
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout, 'fine\n');
    const none = await cellblock('jail', 'exec', 'web');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /the command to run is missing/);
  });

  test('start, stop, restart and rm', async () => {
    await h.fake.create({ name: 'web', image: 'site:v1', command: ['/bin/true'] });
    h.fake.calls.length = 0;
    assert.equal((await cellblock('jail', 'start', 'web')).stdout, 'started jail web (pid 4242)\n');
    assert.equal((await cellblock('jail', 'stop', '--timeout', '5', 'web')).stdout, 'stopped jail web (exit code 143)\n');
    assert.equal((await cellblock('jail', 'restart', 'web')).stdout, 'restarted jail web (pid 4343)\n');
    assert.equal((await cellblock('jail', 'rm', '--force', 'web')).stdout, 'removed jail web\n');
    assert.deepEqual(h.fake.calls.map((c) => [c.method, ...c.args]), [
      ['start', 'web'], ['stop', 'web', { timeoutSeconds: 5 }], ['restart', 'web'], ['remove', 'web', { force: true }],
    ]);
    await h.fake.create({ name: 'web', image: 'site:v1', command: ['/bin/true'] });
    assert.equal((await cellblock('jail', 'disk', 'web', '5G')).stdout, 'disk limit of jail web is now 5.00G\n');
    assert.deepEqual(h.fake.calls.at(-1), { method: 'setDisk', args: ['web', '5G'] });
    const bad = await cellblock('jail', 'stop', '--timeout', 'soon', 'web');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--timeout: expected a whole number, got "soon"/);
  });

  test('logs prints the text; -f follows until the agent ends the stream', async () => {
    await h.fake.create({ name: 'web', image: 'site:v1', command: ['/bin/true'] });
    const r = await cellblock('jail', 'logs', '--tail', '1', 'web');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2024-01-01T00:00:01Z stderr world\n');
    const sessions = h.fake.logSessions.length;
    const p = spawnStream([process.execPath, BIN, '--data-dir', h.dir, 'jail', 'logs', '-f', 'web'], { cwd: ROOT });
    let out = '';
    p.stdout.on('data', (c: Buffer) => { out += String(c); });
    try {
      await waitFor(() => h.fake.logSessions.length === sessions + 1 && out.includes('world'), 10_000, 'the first lines');
      const session = h.fake.logSessions.at(-1)!;
      session.stream.write('2024-01-01T00:00:02Z stdout later\n');
      await waitFor(() => out.includes('later'), 5000, 'a followed line');
      session.stream.end();
      assert.equal((await p.done).code, 0);
    } finally {
      p.kill('SIGKILL');
    }
    assert.deepEqual(calls('logs'), [['web', { follow: false, tail: 1 }], ['web', { follow: true, tail: undefined }]]);
  });

  test('no agent for the data dir: says how to start one', async () => {
    const d = await mkdtemp(join(tmpdir(), 'cellblock-cli-noagent-'));
    try {
      const r = await exec([process.execPath, BIN, '--data-dir', d, 'jail', 'ls'], { cwd: ROOT, okCodes: ANY });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `error: the cellblock agent is not running for ${d}\n  fix: start it: cellblock agent --data-dir ${d} (or enable the systemd unit)\n`);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  test('a caller that is not root is told to use sudo', async (t) => {
    if (!(await hasTool('setpriv'))) return t.skip('setpriv (util-linux) is not installed');
    const r = await exec(['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, BIN, '--data-dir', h.dir, 'jail', 'ls'], { cwd: ROOT, okCodes: ANY });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, 'error: only root may talk to the agent\n  fix: run with sudo\n');
  });

  test('every jail command has a description and an example in --help', async () => {
    for (const c of ['create', 'start', 'stop', 'restart', 'rm', 'ls', 'inspect', 'exec', 'logs']) {
      const r = await cellblock('jail', c, '--help');
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, /^Examples?:\n {2}cellblock jail /m, c);
    }
    const a = await cellblock('agent', '--help');
    assert.match(a.stdout, /--log-level <level>/);
  });

});
