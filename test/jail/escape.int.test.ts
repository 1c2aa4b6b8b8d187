/**
 * Integration: escape attempts from inside real jails, each its own test, each failing with
 * a precise error, plus a control on the host where it shows the mechanism itself works.
 * Two jails run `sleep infinity`: `root` (uid 0, the strongest case: the jail's capability
 * set) and `app` (uid 1000, no effective capabilities). Reaching out of the jail (host
 * processes, the agent socket, the network) is in escape-reach.int.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, whichTool } from '../../src/sys/exec.js';
import { MASKED_PATHS } from '../../src/jail/oci.js';
import { JailLab, jailSkipReason, type RunningJail } from '../helpers/jail-harness.js';
import { EACCES, ENOENT, EPERM, EROFS, inJail, NR, onHost, parseStatus, PTRACE_ATTACH } from '../helpers/jail-probes.js';

const skip = await jailSkipReason();
const x64 = process.arch === 'x64' ? false : 'the probes call x86_64 syscall numbers';
const SLEEP = ['/usr/bin/sleep', 'infinity'];
let lab: JailLab | undefined;
let root: RunningJail;
let app: RunningJail;

before(async () => {
  if (skip) return;
  lab = await JailLab.open('cbescape-');
  root = await lab.start({ name: 'root', command: SLEEP });
  app = await lab.start({ name: 'app', user: '1000:1000', command: SLEEP });
});

after(async () => {
  await lab?.teardown();
});

async function hostName(file: 'passwd' | 'group', id: number): Promise<string> {
  const line = (await readFile(`/etc/${file}`, 'utf8')).split('\n').find((l) => l.split(':')[2] === String(id));
  return line?.split(':')[0] ?? 'app';
}

test('writing to /usr fails with EROFS; the same write works in /tmp', { skip }, async () => {
  const r = await root.run(['/usr/bin/touch', '/usr/cellblock-escape']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot touch '\/usr\/cellblock-escape': Read-only file system/);
  assert.deepEqual(await inJail(root, [
    'out["new"] = write_errno("/usr/bin/cellblock-escape")',
    'out["existing"] = os_errno(os.open, "/usr/bin/true", os.O_WRONLY)',
  ]), { new: EROFS, existing: EROFS });
  await assert.rejects(access('/usr/cellblock-escape'), 'nothing reached the host /usr');
  assert.equal((await root.run(['/usr/bin/touch', '/tmp/ok'])).code, 0);
  await access(join(root.spec.writablePath, 'tmp', 'ok'));
});

test('remounting /usr read-write is refused', { skip }, async () => {
  const r = await root.run(['/usr/bin/mount', '-o', 'remount,rw', '/usr']);
  assert.equal(r.code, 32, r.stderr);
  assert.match(r.stderr, /mount: \/usr: permission denied/);
});

test('mounting a tmpfs fails with EPERM (the host can)', { skip }, async () => {
  // the read-only root holds no /mnt (only mount points), so the target is /tmp, which exists
  const r = await root.run(['/usr/bin/mount', '-t', 'tmpfs', 'none', '/tmp']);
  assert.equal(r.code, 32, r.stderr);
  assert.match(r.stderr, /mount: \/tmp: permission denied/);
  assert.deepEqual(await inJail(root, ['out["mount"] = sys_errno(libc.mount, b"none", b"/tmp", b"tmpfs", 0, None)']), { mount: EPERM });
  const target = join(lab!.dataDir, 'mnt-control');
  await mkdir(target);
  await exec(['mount', '-t', 'tmpfs', 'none', target]);
  try {
    assert.match(await readFile('/proc/self/mounts', 'utf8'), new RegExp(` ${target} tmpfs `));
  } finally {
    await exec(['umount', target]);
  }
});

for (const argv of [['unshare', '-Ur'], ['unshare', '--user', '--map-root-user']]) {
  test(`${argv.join(' ')} (caps in a new user namespace) is refused (the host can)`, { skip }, async () => {
    for (const j of [root, app]) {
      const r = await j.run([`/usr/bin/${argv[0]}`, ...argv.slice(1), '/usr/bin/id', '-u']);
      assert.equal(r.code, 1, `${j.names.jail}: ${r.stdout}`);
      assert.equal(r.stderr.trim(), 'unshare: unshare failed: Operation not permitted', j.names.jail);
    }
    assert.equal((await exec([`/usr/bin/${argv[0]}`, ...argv.slice(1), '/usr/bin/id', '-u'])).stdout, '0\n');
  });
}

test('loading a kernel module fails with EPERM (the host reaches the kernel)', { skip: skip ?? x64 }, async (t) => {
  const probe = [
    'fd = os.open("/usr/bin/true", os.O_RDONLY)',
    `out["finit_module"] = sys_errno(libc.syscall, ${NR.finit_module}, fd, b"", 0)`,
    `out["init_module"] = sys_errno(libc.syscall, ${NR.init_module}, None, 0, b"")`,
  ];
  for (const j of [root, app]) assert.deepEqual(await inJail(j, probe), { finit_module: EPERM, init_module: EPERM }, j.names.jail);
  if (await whichTool('insmod')) {
    await writeFile(join(root.spec.writablePath, 'tmp', 'escape.ko'), 'not a module');
    const r = await root.run(['insmod', '/tmp/escape.ko']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation not permitted/);
  }
  // control: an empty file is never a module, so this loads nothing; the kernel itself answers
  const host = await onHost([
    'fd = os.open("/dev/null", os.O_RDONLY)',
    `out["finit_module"] = sys_errno(libc.syscall, ${NR.finit_module}, fd, b"", 0)`,
  ]);
  const disabled = (await readFile('/proc/sys/kernel/modules_disabled', 'utf8').catch(() => '0')).trim() === '1';
  if (disabled) t.diagnostic('host: kernel.modules_disabled=1, so the host is refused too');
  else assert.notEqual(host.finit_module, EPERM, 'the host gets past the permission check');
  t.diagnostic(`host finit_module(/dev/null) errno: ${String(host.finit_module)}`);
});

test('/proc/kcore and the other masked paths give nothing', { skip }, async (t) => {
  const kinds: Record<string, 'file' | 'dir' | 'absent'> = {};
  for (const p of MASKED_PATHS) {
    const st = await stat(p).catch(() => undefined);
    kinds[p] = st === undefined ? 'absent' : st.isDirectory() ? 'dir' : 'file';
  }
  if (kinds['/proc/kcore'] === 'absent') t.diagnostic('this kernel has no /proc/kcore (CONFIG_PROC_KCORE=n): inside, it must be absent too');
  const res = await inJail(root, [
    'for p in sys.argv[1:]:',
    '    try:',
    '        out[p] = {"entries": len(os.listdir(p))} if os.path.isdir(p) else {"bytes": len(open(p, "rb").read(65536))}',
    '    except OSError as e:',
    '        out[p] = {"errno": e.errno}',
  ], [...MASKED_PATHS]);
  for (const p of MASKED_PATHS) {
    const got = res[p] as { entries?: number; bytes?: number; errno?: number };
    if (kinds[p] === 'absent') assert.deepEqual(got, { errno: ENOENT }, p);
    else if (kinds[p] === 'dir') assert.deepEqual(got, { entries: 0 }, p);
    else assert.ok(got.bytes === 0 || got.errno === EACCES || got.errno === EPERM, `${p}: ${JSON.stringify(got)}`);
  }
  if (kinds['/proc/interrupts'] === 'file') assert.ok((await readFile('/proc/interrupts', 'utf8')).length > 0, 'the host reads it');
});

test('/sys is read-only, the cgroup tree included', { skip }, async () => {
  const res = await inJail(root, [
    'out["ro"] = [l.split()[3].split(",")[0] for l in open("/proc/self/mounts") if l.split()[1] == "/sys"]',
    'out["uevent_helper"] = write_errno("/sys/kernel/uevent_helper")',
    'out["eth0_mtu"] = write_errno("/sys/class/net/eth0/mtu", "1400")',
    'out["cgroup_root_file"] = write_errno("/sys/fs/cgroup/escape-file")',
    'out["cgroup_root_dir"] = os_errno(os.mkdir, "/sys/fs/cgroup/escape-dir")',
    'out["cgroup_children"] = sorted(set(os_errno(os.mkdir, os.path.join("/sys/fs/cgroup", d, "escape"))',
    '    for d in os.listdir("/sys/fs/cgroup") if os.path.isdir(os.path.join("/sys/fs/cgroup", d))))',
    'out["release_agent"] = write_errno("/sys/fs/cgroup/memory/release_agent", "/tmp/x")',
    'v1 = os.path.exists("/sys/fs/cgroup/pids/pids.max")',
    'out["pids_max_readable"] = open("/sys/fs/cgroup/pids/pids.max" if v1 else "/sys/fs/cgroup/pids.max").read().strip()',
  ]);
  assert.deepEqual(res, {
    ro: ['ro'], uevent_helper: EROFS, eth0_mtu: EROFS, cgroup_root_file: EROFS, cgroup_root_dir: EROFS,
    cgroup_children: [EROFS], release_agent: EROFS, pids_max_readable: '1024',
  }, 'read-only, and the jail still reads its own cgroup');
});

test('/proc/sysrq-trigger and /proc/sys cannot be written (the host can)', { skip }, async (t) => {
  const sysrq = await access('/proc/sysrq-trigger').then(() => true, () => false);
  if (!sysrq) t.diagnostic('this kernel has no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ=n): inside, it must be absent too');
  assert.deepEqual(await inJail(root, [
    'out["sysrq"] = write_errno("/proc/sysrq-trigger", "h")',
    'out["core_pattern"] = write_errno("/proc/sys/kernel/core_pattern", "|/tmp/x")',
    'out["drop_caches"] = write_errno("/proc/sys/vm/drop_caches", "3")',
  ]), { sysrq: sysrq ? EROFS : ENOENT, core_pattern: EROFS, drop_caches: EROFS });
  await access('/proc/sys/kernel/core_pattern', constants.W_OK); // the host may (checked, not written)
});

test('a setuid-root binary in the writable dir runs without privilege (the host would escalate)', { skip }, async (t) => {
  const planted = join(app.spec.writablePath, 'tmp', 'suid-id');
  await copyFile('/usr/bin/id', planted);
  await chown(planted, 0, 0);
  await chmod(planted, 0o4755);
  const r = await app.exec(['/tmp/suid-id']);
  // the jail sees the host's passwd and group: uid 1000 is the host's user of that number, or `app` when there is none
  const [u, g] = [await hostName('passwd', 1000), await hostName('group', 1000)];
  assert.equal(r.stdout.trim(), `uid=1000(${u}) gid=1000(${g}) groups=1000(${g})`, 'no euid=0');
  for (const p of ['/proc/self/status', '/proc/1/status']) {
    assert.equal(parseStatus((await app.exec(['/usr/bin/cat', p])).stdout).NoNewPrivs, '1', p);
  }
  const ctl = await mkdtemp(join(tmpdir(), 'cbsuid-'));
  try {
    await chmod(ctl, 0o755);
    const bin = join(ctl, 'suid-id');
    await copyFile('/usr/bin/id', bin);
    await chmod(bin, 0o4755);
    const opts = (await exec(['findmnt', '-n', '-o', 'OPTIONS', '-T', ctl])).stdout;
    if (/\bnosuid\b/.test(opts)) t.diagnostic(`host control skipped: ${tmpdir()} is mounted nosuid`);
    else assert.match((await exec(['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', bin])).stdout, /\beuid=0\(root\)/);
  } finally {
    await rm(ctl, { recursive: true, force: true });
  }
});

test('a --user 1000 jail has no capabilities; its root has only the bounding set', { skip }, async () => {
  for (const p of ['/proc/self/status', '/proc/1/status']) {
    const s = parseStatus((await app.exec(['/usr/bin/cat', p])).stdout);
    assert.deepEqual([s.CapInh, s.CapPrm, s.CapEff, s.CapAmb], Array(4).fill('0000000000000000'), p);
    assert.equal(s.CapBnd, '00000000000004fb', p);
  }
  const r = parseStatus((await root.exec(['/usr/bin/cat', '/proc/self/status'])).stdout);
  assert.equal(r.CapEff, '00000000000004fb', 'CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID NET_BIND_SERVICE, nothing more');
});

test('creating a block device node fails with EPERM (the host can)', { skip }, async () => {
  const r = await root.run(['/usr/bin/mknod', '/tmp/disk', 'b', '8', '0']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /mknod: \/tmp\/disk: Operation not permitted/);
  const node = join(lab!.dataDir, 'mknod-control');
  await exec(['mknod', node, 'b', '8', '0']);
  assert.ok((await stat(node)).isBlockDevice());
  await rm(node);
});

test('chroot fails with EPERM', { skip }, async () => {
  assert.deepEqual(await inJail(root, ['out["chroot"] = os_errno(os.chroot, "/tmp")']), { chroot: EPERM });
});

test('ptrace(PTRACE_ATTACH) of another jail process fails with EPERM (the host can)', { skip: skip ?? x64 }, async () => {
  const probe = [
    'pid = os.fork()',
    'if pid == 0:',
    '    import time; time.sleep(30); os._exit(0)',
    `out["child"] = sys_errno(libc.ptrace, ${PTRACE_ATTACH}, pid, None, None)`,
    `out["init"] = sys_errno(libc.ptrace, ${PTRACE_ATTACH}, 1, None, None)`,
    'os.kill(pid, 9); os.waitpid(pid, 0)',
  ];
  for (const j of [root, app]) assert.deepEqual(await inJail(j, probe), { child: EPERM, init: EPERM }, j.names.jail);
  // control: the host traces its own child only
  assert.deepEqual(await onHost([
    'pid = os.fork()',
    'if pid == 0:',
    '    import time; time.sleep(30); os._exit(0)',
    `out["child"] = sys_errno(libc.ptrace, ${PTRACE_ATTACH}, pid, None, None)`,
    'os.kill(pid, 9); os.waitpid(pid, 0)',
  ]), { child: 0 });
});
