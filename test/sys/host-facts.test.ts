import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatherFacts, newestFirst, versionLine, type FactSource } from '../../src/sys/host-facts.js';
import { TOOLS } from '../../src/sys/host-checks.js';

/** A FactSource over an in-memory host: files, directories, executables, tools on PATH. */
function fakeSource(host: {
  files?: Record<string, string>;
  dirs?: Record<string, string[]>;
  executables?: string[];
  onPath?: Record<string, string>;
  versions?: Record<string, string>;
  release?: string;
}): FactSource & { versionCalls: string[][] } {
  const versionCalls: string[][] = [];
  return {
    versionCalls,
    async readText(p) { return host.files?.[p]; },
    async listDir(p) { return host.dirs?.[p]; },
    async exists(p) { return p in (host.files ?? {}) || p in (host.dirs ?? {}); },
    async isExecutable(p) { return (host.executables ?? []).includes(p); },
    async whichTool(n) { return host.onPath?.[n]; },
    kernelRelease: () => host.release ?? '6.1.0-test',
    async version(argv) { versionCalls.push(argv); return host.versions?.[argv[0]!]; },
  };
}

const HYBRID_MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
].join('\n');

test('gatherFacts reads /proc, /sys and modules.dep through the source', async () => {
  const src = fakeSource({
    files: {
      '/proc/filesystems': 'nodev\tsysfs\nnodev\toverlay\n',
      '/proc/self/mountinfo': HYBRID_MOUNTINFO,
      '/lib/modules/6.1.0-test/modules.dep': 'kernel/fs/btrfs/btrfs.ko.xz: kernel/lib/raid6/raid6_pq.ko.xz\nkernel/lib/raid6/raid6_pq.ko.xz:\n',
      '/dev/loop-control': '',
    },
    dirs: { '/proc/self/ns': ['uts', 'net', 'pid', 'mnt', 'ipc'] },
    onPath: { runc: '/usr/sbin/runc' },
    versions: { '/usr/sbin/runc': 'runc version 1.1.5' },
  });
  const f = await gatherFacts(src);
  assert.deepEqual(f.filesystems, ['sysfs', 'overlay']);
  assert.deepEqual(f.modules, ['btrfs'], 'raid6_pq is not asked for');
  assert.deepEqual(f.namespaces, ['ipc', 'mnt', 'net', 'pid', 'uts']);
  assert.deepEqual(f.cgroup, { v2: null, v1: ['cpu', 'memory', 'pids'] });
  assert.equal(f.loopControl, true);
  assert.deepEqual(f.tools.runc, { path: '/usr/sbin/runc', version: 'runc version 1.1.5' });
  assert.equal(f.tools.etcd, null);
  assert.deepEqual(Object.keys(f.tools).sort(), TOOLS.map((t) => t.name).sort());
  assert.deepEqual(src.versionCalls, [['/usr/sbin/runc', '--version']], 'only found tools are asked for a version');
});

test('gatherFacts reads cgroup v2 controllers and falls back to /proc/mounts', async () => {
  const v2 = await gatherFacts(fakeSource({ files: { '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n' } }), { versions: false });
  assert.deepEqual(v2.cgroup.v2, ['cpu', 'cpuset', 'io', 'memory', 'pids']);
  const mounts = await gatherFacts(fakeSource({ files: { '/proc/mounts': 'cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0\n' } }), { versions: false });
  assert.deepEqual(mounts.cgroup, { v2: null, v1: ['pids'] });
});

test('postgres off PATH is found under /usr/lib/postgresql/<newest version>/bin', async () => {
  const src = fakeSource({
    dirs: { '/usr/lib/postgresql': ['9.6', '15', '13'] },
    executables: ['/usr/lib/postgresql/15/bin/postgres', '/usr/lib/postgresql/13/bin/postgres'],
    versions: { '/usr/lib/postgresql/15/bin/postgres': 'postgres (PostgreSQL) 15.18' },
  });
  const f = await gatherFacts(src);
  assert.deepEqual(f.tools.postgres, { path: '/usr/lib/postgresql/15/bin/postgres', version: 'postgres (PostgreSQL) 15.18' });
});

test('postgres on PATH wins over the versioned directory', async () => {
  const src = fakeSource({
    onPath: { postgres: '/usr/local/bin/postgres' },
    dirs: { '/usr/lib/postgresql': ['15'] },
    executables: ['/usr/lib/postgresql/15/bin/postgres'],
  });
  assert.deepEqual((await gatherFacts(src, { versions: false })).tools.postgres, { path: '/usr/local/bin/postgres' });
});

test('versions: false asks no tool for its version', async () => {
  const src = fakeSource({ onPath: { runc: '/usr/sbin/runc' } });
  await gatherFacts(src, { versions: false });
  assert.deepEqual(src.versionCalls, []);
});

test('newestFirst orders version directories numerically', () => {
  assert.deepEqual(newestFirst(['9.6', '15', '13', '10', 'main']), ['15', '13', '10', '9.6', 'main']);
});

test('versionLine takes the first non-empty line of stdout, else stderr, shortened', () => {
  assert.equal(versionLine('runc version 1.1.5\ncommit: x\n', ''), 'runc version 1.1.5');
  assert.equal(versionLine('', '\nKeepalived v2.2.7 (01/16,2022)\n'), 'Keepalived v2.2.7 (01/16,2022)');
  assert.equal(versionLine('', ''), undefined);
  const long = versionLine('x'.repeat(100), '')!;
  assert.equal(long.length, 60);
  assert.ok(long.endsWith('…'));
});
