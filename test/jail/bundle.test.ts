import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleLayout, skeletonEntries, writableEntries, writeBundle } from '../../src/jail/bundle.js';
import { cgroupDirsIn, parseCgroupMounts } from '../../src/jail/cgroups.js';
import { parseJailSpec } from '../../src/jail/model.js';
import type { HostInfo } from '../../src/jail/oci.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/jail/', import.meta.url));
const merged: HostInfo = { arch: 'x86_64', usrMerged: true, hostRootDirs: ['bin', 'lib', 'lib64', 'sbin'], cgroupVersion: 1, cgroupNamespace: true, swapAccounting: true };
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const specAt = (w: string) => parseJailSpec({
  name: 'web', image: 'site:v1', imagePath: '/pool/images/site/v1', writablePath: w, ip: '10.77.0.5',
  user: `${uid}:${gid}`, rw: ['/var/lib/app', '/srv/data'], command: ['/usr/bin/true'],
}, { instance: 'h1', hostCpus: 2 });

test('bundleLayout', () => {
  assert.deepEqual(bundleLayout('/j/web'), { dir: '/j/web', config: '/j/web/config.json', rootfs: '/j/web/rootfs', etc: '/j/web/etc', masked: '/j/web/masked', runcLog: '/j/web/runc.log', pidFile: '/j/web/init.pid' });
});

test('the skeleton holds mount points, merged-/usr symlinks and --rw mount points outside /var', () => {
  const spec = specAt('/w');
  assert.deepEqual(skeletonEntries(spec, merged), [
    ...['app', 'dev', 'etc', 'proc', 'root', 'run', 'srv/data', 'sys', 'tmp', 'usr', 'var'].map((path) => ({ path, kind: 'dir' })),
    { path: 'bin', kind: 'symlink', target: 'usr/bin' },
    { path: 'lib', kind: 'symlink', target: 'usr/lib' },
    { path: 'lib64', kind: 'symlink', target: 'usr/lib64' },
    { path: 'sbin', kind: 'symlink', target: 'usr/sbin' },
  ]);
  const split = skeletonEntries(spec, { ...merged, usrMerged: false, hostRootDirs: ['bin', 'lib'] });
  assert.ok(split.every((e) => e.kind === 'dir'));
  assert.ok(split.some((e) => e.path === 'bin') && split.some((e) => e.path === 'lib'));
});

test('writableEntries: tmp is sticky, --rw dirs belong to the jail user', () => {
  assert.deepEqual(writableEntries(specAt('/w')), [
    { path: '/w/tmp', mode: 0o1777, owned: false },
    { path: '/w/var', mode: 0o755, owned: false },
    { path: '/w/srv/data', mode: 0o755, owned: true },
    { path: '/w/var/lib/app', mode: 0o755, owned: true },
  ]);
});

test('writeBundle makes the skeleton, /etc, the writable dirs and config.json; again is fine', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cb-bundle-'));
  try {
    const spec = specAt(join(dir, 'writable'));
    const b = join(dir, 'bundle');
    const hostEtc = {
      root: '/etc',
      listing: [{ path: 'shadow', kind: 'file' as const, mode: 0o640 }, { path: 'passwd', kind: 'file' as const, mode: 0o644 }],
      accounts: { passwd: 'root:x:0:0:root:/root:/bin/bash\n', group: 'root:x:0:\n' },
    };
    const input = { spec, host: merged, resolver: { nameservers: ['192.0.2.1'], search: [] }, hostEtc };
    await mkdir(join(b, 'etc'), { recursive: true });
    await writeFile(join(b, 'etc', 'nsswitch.conf'), 'left by an older version\n');
    const config = await writeBundle(b, input);
    await writeBundle(b, input);
    assert.deepEqual(JSON.parse(await readFile(join(b, 'config.json'), 'utf8')), JSON.parse(JSON.stringify(config)));
    assert.equal(await readlink(join(b, 'rootfs', 'bin')), 'usr/bin');
    assert.ok((await stat(join(b, 'rootfs', 'srv', 'data'))).isDirectory());
    const own = uid === 0 ? ['hostname', 'hosts', 'resolv.conf'] : ['group', 'hostname', 'hosts', 'passwd', 'resolv.conf'];
    assert.deepEqual((await readdir(join(b, 'etc'))).sort(), own, 'passwd and group only for a user the host lacks; stale files removed');
    const mounted = config.mounts.map((m) => m.destination);
    assert.ok(mounted.includes('/etc/shadow'), 'masked');
    assert.ok(!mounted.includes('/etc/passwd'), 'world-readable: the host\'s');
    assert.equal((await readFile(join(b, 'masked'), 'utf8')), '');
    assert.match(await readFile(join(b, 'etc', 'hosts'), 'utf8'), /^10\.77\.0\.5\tweb$/m);
    assert.equal((await stat(join(dir, 'writable', 'tmp'))).mode & 0o7777, 0o1777);
    const data = await lstat(join(dir, 'writable', 'var', 'lib', 'app'));
    assert.equal(data.uid, uid);
    assert.ok(data.isDirectory());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cgroup mounts from mountinfo: v1 per controller plus unified (hybrid), or v2 alone', () => {
  const hybrid = parseCgroupMounts(readFileSync(FIX + 'mountinfo-hybrid.txt', 'utf8'));
  assert.deepEqual(hybrid.map((m) => m.name), ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd', 'unified']);
  const dirs = cgroupDirsIn(hybrid, '/cellblock/h1/web');
  assert.equal(dirs.memory, '/sys/fs/cgroup/memory/cellblock/h1/web');
  assert.equal(dirs.unified, '/sys/fs/cgroup/unified/cellblock/h1/web');
  const v2 = parseCgroupMounts(readFileSync(FIX + 'mountinfo-v2.txt', 'utf8'));
  assert.deepEqual(cgroupDirsIn(v2, '/cellblock/h1/web'), { unified: '/sys/fs/cgroup/cellblock/h1/web' });
});
