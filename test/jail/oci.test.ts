// config.json of a jail against the golden file test/fixtures/jail/config.json, plus the
// properties that matter spelled out. Regenerate the golden file after a deliberate change:
//   CELLBLOCK_UPDATE_GOLDEN=1 node scripts/run-tests.mjs test/jail/oci
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOciConfig as build, jailEnv, rwMountDirs, type EtcView, type HostInfo } from '../../src/jail/oci.js';
import { parseJailSpec } from '../../src/jail/model.js';

const GOLDEN = fileURLToPath(new URL('../../../test/fixtures/jail/config.json', import.meta.url));

const host: HostInfo = { arch: 'x86_64', usrMerged: true, hostRootDirs: ['bin', 'lib', 'lib64', 'sbin'], cgroupVersion: 1, cgroupNamespace: true, swapAccounting: true };
const spec = parseJailSpec({
  name: 'web1', image: 'site:v1', imagePath: '/var/lib/cellblock/pool/images/site/v1', writablePath: '/var/lib/cellblock/pool/jails/web1',
  ip: '10.77.0.5', memory: '256M', cpus: '0.5', pids: '256', env: ['LOG_LEVEL=info', 'PORT=8080'], user: '1000:1000',
  rw: ['/var/lib/app', '/srv/uploads'], restart: 'always', command: ['/usr/bin/python3', '-m', 'http.server', '8080', '--directory', '/app'],
}, { instance: 'h1', hostCpus: 8 });
const BUNDLE = '/var/lib/cellblock/jails/web1/bundle';
const VIEW: EtcView = { hostEtc: '/etc', own: ['hostname', 'hosts', 'resolv.conf'], masked: [{ path: '/etc/shadow', dir: false }, { path: '/etc/ssl/private', dir: true }] };
const buildOciConfig = (sp: typeof spec, h: HostInfo, b: string, v: EtcView = VIEW) => build(sp, h, b, v);

test('config.json matches the golden file', () => {
  const config = JSON.parse(JSON.stringify(buildOciConfig(spec, host, BUNDLE)));
  if (process.env.CELLBLOCK_UPDATE_GOLDEN) writeFileSync(GOLDEN, JSON.stringify(config, null, 2) + '\n');
  assert.deepEqual(config, JSON.parse(readFileSync(GOLDEN, 'utf8')));
});

test('buildOciConfig is pure: same input, same output', () => {
  assert.deepEqual(buildOciConfig(spec, host, BUNDLE), buildOciConfig(spec, host, BUNDLE));
});

test('hardening: minimal capabilities, no new privileges, seccomp, masked and read-only /proc', () => {
  const c = buildOciConfig(spec, host, BUNDLE);
  const caps = c.process.capabilities as Record<string, string[]>;
  for (const forbidden of ['CAP_NET_RAW', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_MODULE', 'CAP_SYS_PTRACE', 'CAP_SYS_RAWIO', 'CAP_MKNOD', 'CAP_SYS_CHROOT', 'CAP_SETPCAP']) {
    for (const set of Object.values(caps)) assert.ok(!set.includes(forbidden), forbidden);
  }
  assert.deepEqual(caps.effective, [], 'a non-root jail user has no effective capabilities');
  assert.deepEqual(caps.inheritable, []);
  assert.deepEqual(caps.ambient, []);
  assert.equal(c.process.noNewPrivileges, true);
  assert.ok(c.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(c.linux.maskedPaths.includes('/sys/firmware'));
  assert.ok(c.linux.readonlyPaths.includes('/proc/sys'));
  assert.ok(c.linux.readonlyPaths.includes('/proc/sysrq-trigger'));
  assert.ok(c.linux.readonlyPaths.includes('/sys/fs/cgroup'), 'the tmpfs runc mounts for cgroup v1 controllers is writable otherwise');
  assert.equal(c.linux.seccomp.defaultAction, 'SCMP_ACT_ALLOW');
  assert.deepEqual(c.linux.resources.devices, [{ allow: false, access: 'rwm' }]);
  assert.equal((c as unknown as { linux: { devices?: unknown } }).linux.devices, undefined, 'only runc\'s default devices');
});

test('a root jail gets the capability set as effective and permitted', () => {
  const root = buildOciConfig({ ...spec, user: { uid: 0, gid: 0 } }, host, BUNDLE);
  const caps = root.process.capabilities as Record<string, string[]>;
  assert.deepEqual(caps.effective, caps.bounding);
  assert.deepEqual(caps.permitted, caps.bounding);
  assert.ok(caps.bounding!.includes('CAP_NET_BIND_SERVICE'));
});

test('root is read-only; the OS, /etc and the image are read-only binds; tmp, var and --rw are writable', () => {
  const c = buildOciConfig(spec, host, BUNDLE);
  assert.deepEqual(c.root, { path: 'rootfs', readonly: true });
  const m = Object.fromEntries(c.mounts.map((x) => [x.destination, x]));
  assert.deepEqual(m['/usr'], { destination: '/usr', type: 'bind', source: '/usr', options: ['bind', 'ro', 'nosuid', 'nodev'] });
  assert.deepEqual(m['/etc'], { destination: '/etc', type: 'bind', source: '/etc', options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  assert.deepEqual(m['/etc/hosts'], { destination: '/etc/hosts', type: 'bind', source: `${BUNDLE}/etc/hosts`, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  assert.equal(m['/app']!.source, spec.imagePath);
  assert.ok(m['/app']!.options.includes('ro'));
  assert.equal(m['/tmp']!.source, '/var/lib/cellblock/pool/jails/web1/tmp');
  assert.equal(m['/var']!.source, '/var/lib/cellblock/pool/jails/web1/var');
  assert.deepEqual(m['/srv/uploads'], { destination: '/srv/uploads', type: 'bind', source: '/var/lib/cellblock/pool/jails/web1/srv/uploads', options: ['rbind', 'rw', 'nosuid', 'nodev'] });
  assert.equal(m['/var/lib/app'], undefined, '/var/lib/app is writable through /var');
  assert.equal(m['/bin'], undefined, 'merged /usr: /bin is a symlink in the skeleton');
  const dests = c.mounts.map((x) => x.destination);
  assert.ok(dests.indexOf('/proc') < dests.indexOf('/usr') && dests.indexOf('/var') < dests.indexOf('/srv/uploads'));
});

test('without merged /usr, the host\'s root dirs are read-only binds', () => {
  const c = buildOciConfig(spec, { ...host, usrMerged: false, hostRootDirs: ['bin', 'lib', 'sbin'] }, BUNDLE);
  const binds = c.mounts.filter((x) => ['/bin', '/lib', '/sbin'].includes(x.destination));
  assert.deepEqual(binds.map((x) => [x.destination, x.source, x.options[1]]), [['/bin', '/bin', 'ro'], ['/lib', '/lib', 'ro'], ['/sbin', '/sbin', 'ro']]);
});

test('limits: memory bytes (no swap), cpu quota = cpus * period, pids', () => {
  const r = buildOciConfig(spec, host, BUNDLE).linux.resources;
  assert.deepEqual(r.memory, { limit: 268435456, swap: 268435456 });
  assert.deepEqual(r.cpu, { quota: 50000, period: 100000 });
  assert.deepEqual(r.pids, { limit: 256 });
  assert.deepEqual(buildOciConfig({ ...spec, cpus: 1.337 }, host, BUNDLE).linux.resources.cpu, { quota: 133700, period: 100000 });
  assert.deepEqual(buildOciConfig(spec, { ...host, swapAccounting: false }, BUNDLE).linux.resources.memory, { limit: 268435456 });
  const { memoryBytes: _m, cpus: _c, ...unlimited } = spec;
  const u = buildOciConfig(unlimited, host, BUNDLE).linux.resources;
  assert.equal(u.memory, undefined);
  assert.equal(u.cpu, undefined);
});

test('namespaces: the jail\'s netns by path; cgroup namespace only where supported', () => {
  const c = buildOciConfig(spec, host, BUNDLE);
  assert.deepEqual(c.linux.namespaces, [
    { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: '/run/netns/cb-web1@h1' }, { type: 'cgroup' },
  ]);
  assert.ok(!buildOciConfig(spec, { ...host, cgroupNamespace: false }, BUNDLE).linux.namespaces.some((n) => n.type === 'cgroup'));
  assert.equal(c.linux.cgroupsPath, '/cellblock/h1/web1');
  assert.equal(c.hostname, 'web1');
});

test('process: user, argv, env with PATH first, cwd /app, no terminal', () => {
  const p = buildOciConfig(spec, host, BUNDLE).process;
  assert.deepEqual(p.user, { uid: 1000, gid: 1000 });
  assert.deepEqual(p.args, spec.command);
  assert.deepEqual(p.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LOG_LEVEL=info', 'PORT=8080']);
  assert.equal(p.cwd, '/app');
  assert.equal(p.terminal, false);
  assert.deepEqual(jailEnv({ ...spec, env: { A: '1', PATH: '/app/bin:/usr/bin' } }), ['PATH=/app/bin:/usr/bin', 'A=1'], 'a user PATH replaces the default, once');
});

test('rwMountDirs skips dirs already writable through /tmp, /var or a parent --rw dir', () => {
  assert.deepEqual(rwMountDirs(['/var/lib/app', '/tmp/x', '/srv', '/srv/data', '/data', '/variable']), ['/data', '/srv', '/variable']);
  assert.deepEqual(rwMountDirs([]), []);
});

test('/etc: the host\'s read-only; masks, the jail\'s own files and the image\'s entries over it', () => {
  const withEtc = { ...spec, etc: { 'nginx/nginx.conf': '/app/etc/nginx.conf', 'ssl/private': 'host' } };
  const c = buildOciConfig(withEtc, host, BUNDLE, { hostEtc: '/etc', own: ['resolv.conf', 'hostname', 'hosts', 'passwd'], masked: [{ path: '/etc/shadow', dir: false }, { path: '/etc/ssl/private', dir: true }] });
  const etc = c.mounts.filter((m) => m.destination === '/etc' || m.destination.startsWith('/etc/'));
  assert.deepEqual(etc.map((m) => [m.destination, m.source]), [
    ['/etc', '/etc'],
    ['/etc/shadow', `${BUNDLE}/masked`],
    ['/etc/ssl/private', 'tmpfs'],
    ['/etc/hostname', `${BUNDLE}/etc/hostname`],
    ['/etc/hosts', `${BUNDLE}/etc/hosts`],
    ['/etc/passwd', `${BUNDLE}/etc/passwd`],
    ['/etc/resolv.conf', `${BUNDLE}/etc/resolv.conf`],
    ['/etc/nginx/nginx.conf', `${spec.imagePath}/etc/nginx.conf`],
  ], 'the host\'s /etc first, then the masks, then what lies over it; "host" entries need no mount');
  for (const m of etc.filter((x) => x.type === 'bind')) assert.deepEqual(m.options, ['bind', 'ro', 'nosuid', 'nodev', 'noexec'], m.destination);
  assert.deepEqual(etc.find((m) => m.type === 'tmpfs')!.options, ['ro', 'nosuid', 'nodev', 'noexec', 'size=4k', 'mode=0555'], 'read-only: writes fail, unlike runc\'s /dev/null masks');
  assert.ok(!c.linux.maskedPaths.some((p) => p.startsWith('/etc')));
  assert.ok(c.linux.maskedPaths.includes('/proc/kcore'), 'runc\'s own masks stay');
});
