/**
 * Integration: a real jail under runc, wired by the network runtime to a bridge of its own.
 * Needs root, runc, ip and /usr/bin/python3. The lab (test/helpers/jail-harness.ts) uses an
 * unusual subnet (10.231.R.0/24) and bridge (cbtXXXX) so it cannot collide with anything,
 * and removes all it made in after(); the last subtest checks that the runtimes' own
 * teardown calls remove everything.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecError } from '../../src/sys/errors.js';
import { cgroupDirs, removeCgroupParents } from '../../src/jail/cgroups.js';
import { JailLab, jailSkipReason, PYTHON, type RunningJail } from '../helpers/jail-harness.js';

const skip = await jailSkipReason();
let lab: JailLab | undefined;

before(async () => {
  if (!skip) lab = await JailLab.open();
});

after(async () => {
  await lab?.teardown();
});

test('a jail runs python http.server on its own address, read-only except its writable dirs', { skip }, async (t) => {
  const { rt, net, bridge, instance } = lab!;
  const host = await lab!.hostInfo();
  const j: RunningJail = await lab!.start({
    name: 'web', files: { 'index.html': '<h1>hello from a jail</h1>\n' },
    memory: '128M', cpus: '0.5', pids: '64', user: '1000:1000', env: ['GREETING=hi'],
    rw: ['/var/lib/app', '/srv/data'],
    command: [PYTHON, '-m', 'http.server', '8080', '--bind', '0.0.0.0', '--directory', '/app'],
  });
  const { names, spec, pid, logFile } = j;
  const jailIp = j.ip;
  await net.ensureBridge(); // idempotent: start() made it already
  assert.ok(pid > 1, `init pid ${pid}`);

  await t.test('serves /app over HTTP from the jail address', async () => {
    const url = `http://${jailIp}:8080/index.html`;
    let body = '';
    for (let i = 0; i < 100 && !body; i++) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (res.ok) body = await res.text();
      } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    assert.equal(body, '<h1>hello from a jail</h1>\n', `no answer from ${url}; jail log:\n${await readFile(logFile, 'utf8').catch(() => '')}`);
    const log = await readFile(logFile, 'utf8');
    assert.match(log, /GET \/index.html/, 'the request is in the jail log');
  });

  await t.test('runc reports it running, with cellblock annotations', async () => {
    const st = await rt.state(names.containerId);
    assert.equal(st?.status, 'running');
    assert.equal(st?.pid, pid);
    assert.equal(st?.annotations['org.cellblock.jail'], 'web');
    assert.deepEqual((await rt.list()).map((c) => c.id), ['web']);
  });

  await t.test('writes outside the writable dirs fail with EROFS', async () => {
    for (const p of ['/usr/x', '/etc/x', '/app/x', '/x']) {
      await assert.rejects(rt.execIn(names.containerId, ['/usr/bin/touch', p]),
        (e: unknown) => e instanceof ExecError && /Read-only file system/.test(e.stderr), p);
    }
    for (const p of ['/tmp/ok', '/var/lib/app/ok', '/srv/data/ok']) await rt.execIn(names.containerId, ['/usr/bin/touch', p]);
    for (const p of ['tmp/ok', 'var/lib/app/ok', 'srv/data/ok']) await access(join(spec.writablePath, p));
  });

  await t.test('hardening: no effective caps, no new privs, seccomp filter, no user namespaces', async () => {
    const status = (await rt.execIn(names.containerId, ['/usr/bin/cat', '/proc/self/status'])).stdout;
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^Seccomp:\s+2$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    assert.match(status, /^CapBnd:\s+00000000000004fb$/m, 'bounding set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID NET_BIND_SERVICE');
    await assert.rejects(rt.execIn(names.containerId, ['/usr/bin/unshare', '-U', '/usr/bin/true']), ExecError);
    const who = (await rt.execIn(names.containerId, ['/usr/bin/id'])).stdout;
    // the host's passwd names uid 1000 (a jail sees the host's /etc), or the jail adds it as app
    const host = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.split(':')[2] === '1000')?.split(':')[0] ?? 'app';
    assert.match(who, new RegExp(`uid=1000\\(${host}\\) gid=1000\\(`));
    const env = (await rt.execIn(names.containerId, ['/usr/bin/cat', '/proc/1/environ'])).stdout.split('\0');
    assert.ok(env.includes('GREETING=hi'));
    assert.equal((await rt.execIn(names.containerId, ['/usr/bin/hostname'])).stdout.trim(), 'web');
  });

  await t.test('the seccomp filter answers EPERM/ENOSYS inside the jail', { skip: process.arch === 'x64' ? false : 'syscall numbers below are x86_64' }, async () => {
    // ctypes calls the raw syscalls; prints errno (0 = allowed) per probe as JSON
    const probe = [
      'import ctypes, json, socket',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'def call(f, *a):',
      '    ctypes.set_errno(0); r = f(*a); return 0 if r != -1 else ctypes.get_errno()',
      'out = {}',
      'out["personality_linux"] = call(libc.personality, ctypes.c_ulong(0))',
      'out["personality_no_aslr"] = call(libc.personality, ctypes.c_ulong(0x0040000))',
      'out["unshare_user"] = call(libc.unshare, 0x10000000)',
      'SIGCHLD = 17',
      'out["clone_newuser"] = call(libc.syscall, 56, ctypes.c_ulong(0x10000000 | SIGCHLD), None, None, None, None)',
      'out["clone3"] = call(libc.syscall, 435, None, ctypes.c_size_t(0))',
      'out["keyctl"] = call(libc.syscall, 250, 0, 0, 0, 0, 0)',
      'try:',
      '    socket.socket(17, socket.SOCK_RAW, 0); out["af_packet"] = 0',
      'except OSError as e:',
      '    out["af_packet"] = e.errno',
      'print(json.dumps(out))',
    ].join('\n');
    const res = JSON.parse((await rt.execIn(names.containerId, ['/usr/bin/python3', '-c', probe])).stdout) as Record<string, number>;
    assert.deepEqual(res, { personality_linux: 0, personality_no_aslr: 1, unshare_user: 1, clone_newuser: 1, clone3: 38, keyctl: 1, af_packet: 1 });
  });

  await t.test('cgroup limits are applied', async () => {
    const dirs = await cgroupDirs(names.cgroupsPath);
    const read = async (ctrl: string, file: string) => (await readFile(join(dirs[ctrl] ?? dirs.unified!, file), 'utf8')).trim();
    if (host.cgroupVersion === 1) {
      assert.equal(await read('memory', 'memory.limit_in_bytes'), String(128 * 1024 * 1024));
      assert.equal(await read('pids', 'pids.max'), '64');
      assert.equal(await read('cpu', 'cpu.cfs_quota_us'), '50000');
      assert.equal(await read('cpu', 'cpu.cfs_period_us'), '100000');
    } else {
      assert.equal(await read('unified', 'memory.max'), String(128 * 1024 * 1024));
      assert.equal(await read('unified', 'pids.max'), '64');
      assert.equal(await read('unified', 'cpu.max'), '50000 100000');
    }
  });

  await t.test('teardown removes the container, the wiring and the cgroups', async () => {
    await rt.delete(names.containerId);
    await rt.delete(names.containerId); // idempotent
    assert.equal(await rt.state(names.containerId), undefined);
    assert.deepEqual(await rt.list(), []);
    await net.teardownJailNetwork(names);
    await net.teardownJailNetwork(names); // idempotent
    assert.ok(!(await net.listNetns()).includes(names.netns));
    assert.equal(await net.linkExists(names.vethHost), false);
    await net.removeBridge();
    assert.equal(await net.linkExists(bridge), false);
    await removeCgroupParents(instance);
    for (const d of Object.values(await cgroupDirs(`/cellblock/${instance}`))) {
      await assert.rejects(access(d), d);
    }
  });
});
