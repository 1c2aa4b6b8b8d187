import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TOOLS, evaluateHost, missingRequired, moduleNames, parseCgroupV1Controllers, parseFilesystems,
  type CheckResult, type HostFacts,
} from '../../src/sys/host-checks.js';

/** A complete cgroup-v2 host with every tool; tests take things away. */
function goodHost(): HostFacts {
  return {
    tools: Object.fromEntries(TOOLS.map((t) => [t.name, { path: `/usr/bin/${t.name}`, version: `${t.name} 1.0` }])),
    kernelRelease: '6.1.0-test',
    filesystems: ['sysfs', 'tmpfs', 'btrfs', 'overlay'],
    modules: [],
    namespaces: ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'],
    cgroup: { v2: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma'], v1: [] },
    loopControl: true,
  };
}

function byName(results: CheckResult[], name: string): CheckResult {
  const r = results.find((x) => x.name === name);
  assert.ok(r, `no result named ${name}`);
  return r;
}

test('a complete host: everything present, nothing required missing, no fixes', () => {
  const results = evaluateHost(goodHost());
  assert.deepEqual(results.filter((r) => r.status !== 'present').map((r) => r.name), []);
  assert.deepEqual(missingRequired(results), []);
  assert.ok(results.every((r) => r.fix === ''));
  assert.equal(byName(results, 'runc').detail, '/usr/bin/runc (runc 1.0)');
});

test('one result per tool then the kernel features, names unique', () => {
  const results = evaluateHost(goodHost());
  assert.deepEqual(results.map((r) => r.name), [
    'runc', 'conmon', 'tini', 'btrfs', 'mkfs.btrfs', 'ip', 'rsync', 'find', 'tar', 'losetup', 'mount', 'nsenter',
    'etcd', 'etcdctl', 'openssl', 'haproxy', 'keepalived', 'patroni', 'postgres',
    'btrfs-fs', 'overlay-fs', 'namespaces', 'namespaces-extra', 'cgroups', 'loop',
  ]);
  assert.equal(new Set(results.map((r) => r.name)).size, results.length);
});

test('tools map to their Debian packages', () => {
  const pkg = Object.fromEntries(TOOLS.map((t) => [t.name, t.pkg]));
  assert.deepEqual(pkg, {
    runc: 'runc', conmon: 'conmon', tini: 'tini', btrfs: 'btrfs-progs', 'mkfs.btrfs': 'btrfs-progs', ip: 'iproute2', rsync: 'rsync', find: 'findutils', tar: 'tar',
    losetup: 'util-linux', mount: 'mount', nsenter: 'util-linux', etcd: 'etcd-server', etcdctl: 'etcd-client', openssl: 'openssl',
    haproxy: 'haproxy', keepalived: 'keepalived', patroni: 'patroni', postgres: 'postgresql',
  });
});

test('required = the storage + jail core and etcd; cluster, lb and db tools are needed later', () => {
  const results = evaluateHost(goodHost());
  const required = results.filter((r) => r.kind === 'tool' && r.required).map((r) => r.name);
  assert.deepEqual(required, ['runc', 'conmon', 'tini', 'btrfs', 'mkfs.btrfs', 'ip', 'rsync', 'find', 'tar', 'losetup', 'mount', 'nsenter', 'etcd']);
  assert.equal(byName(results, 'etcd').neededFor, 'core');
  assert.equal(byName(results, 'openssl').neededFor, 'cluster');
  assert.equal(byName(results, 'haproxy').neededFor, 'lb');
  assert.equal(byName(results, 'postgres').neededFor, 'db');
  assert.equal(byName(results, 'overlay-fs').required, false);
  assert.equal(byName(results, 'cgroups').required, true);
});

test('a missing tool: status missing, fix names the package and bootstrap', () => {
  const facts = goodHost();
  facts.tools.etcdctl = null;
  facts.tools.runc = null;
  const results = evaluateHost(facts);
  const etcdctl = byName(results, 'etcdctl');
  assert.equal(etcdctl.status, 'missing');
  assert.equal(etcdctl.pkg, 'etcd-client');
  assert.equal(etcdctl.fix, 'apt-get install -y etcd-client (or: cellblock host bootstrap)');
  assert.equal(etcdctl.required, false);
  assert.match(byName(results, 'runc').fix, /apt-get install -y runc/);
  assert.deepEqual(missingRequired(results).map((r) => r.name), ['runc']);
});

test('a missing postgres says where else it was looked for', () => {
  const facts = goodHost();
  facts.tools.postgres = null;
  assert.equal(byName(evaluateHost(facts), 'postgres').detail, 'not on PATH nor at /usr/lib/postgresql/<version>/bin/postgres');
});

test('a tool without a version shows just its path', () => {
  const facts = goodHost();
  facts.tools.tar = { path: '/bin/tar' };
  assert.equal(byName(evaluateHost(facts), 'tar').detail, '/bin/tar');
});

test('cgroup v1 with memory, cpu and pids is enough', () => {
  const facts = goodHost();
  facts.cgroup = { v2: null, v1: ['blkio', 'cpu', 'cpuacct', 'memory', 'pids'] };
  const r = byName(evaluateHost(facts), 'cgroups');
  assert.equal(r.status, 'present');
  assert.equal(r.detail, 'v1: memory, cpu, pids');
});

test('cgroup v1 without pids is missing and required', () => {
  const facts = goodHost();
  facts.cgroup = { v2: null, v1: ['cpu', 'cpuacct', 'memory'] };
  const results = evaluateHost(facts);
  const r = byName(results, 'cgroups');
  assert.equal(r.status, 'missing');
  assert.equal(r.detail, 'v1: missing pids');
  assert.match(r.fix, /memory, cpu, pids/);
  assert.deepEqual(missingRequired(results).map((x) => x.name), ['cgroups']);
});

test('cgroup v2 without the memory controller is missing', () => {
  const facts = goodHost();
  facts.cgroup = { v2: ['cpu', 'pids'], v1: ['memory'] };
  assert.equal(byName(evaluateHost(facts), 'cgroups').detail, 'v2: missing memory');
});

test('no cgroups at all', () => {
  const facts = goodHost();
  facts.cgroup = { v2: null, v1: [] };
  assert.equal(byName(evaluateHost(facts), 'cgroups').detail, 'none mounted: missing memory, cpu, pids');
});

test('btrfs as a loadable module counts; neither loaded nor a module is missing', () => {
  const facts = goodHost();
  facts.filesystems = ['sysfs'];
  facts.modules = ['btrfs'];
  const r = byName(evaluateHost(facts), 'btrfs-fs');
  assert.equal(r.status, 'present');
  assert.equal(r.detail, 'module btrfs available for 6.1.0-test');

  facts.modules = [];
  const results = evaluateHost(facts);
  const gone = byName(results, 'btrfs-fs');
  assert.equal(gone.status, 'missing');
  assert.match(gone.fix, /--driver dir/);
  assert.equal(byName(results, 'overlay-fs').status, 'missing');
  assert.deepEqual(missingRequired(results).map((x) => x.name), ['btrfs-fs'], 'overlay is optional');
});

test('namespaces: a core one missing is required, user/cgroup are optional', () => {
  const facts = goodHost();
  facts.namespaces = ['ipc', 'mnt', 'net', 'pid', 'uts'];
  let results = evaluateHost(facts);
  assert.equal(byName(results, 'namespaces').status, 'present');
  assert.equal(byName(results, 'namespaces-extra').detail, 'missing: user, cgroup');
  assert.deepEqual(missingRequired(results), []);

  facts.namespaces = ['ipc', 'mnt', 'pid', 'uts'];
  results = evaluateHost(facts);
  assert.equal(byName(results, 'namespaces').detail, 'missing: net');
  assert.deepEqual(missingRequired(results).map((x) => x.name), ['namespaces']);
});

test('no /dev/loop-control is missing and required', () => {
  const facts = goodHost();
  facts.loopControl = false;
  const r = byName(evaluateHost(facts), 'loop');
  assert.equal(r.status, 'missing');
  assert.match(r.fix, /modprobe loop/);
});

test('parseFilesystems reads /proc/filesystems', () => {
  assert.deepEqual(parseFilesystems('nodev\tsysfs\nnodev\toverlay\n\text4\n\tbtrfs\n'), ['sysfs', 'overlay', 'ext4', 'btrfs']);
  assert.deepEqual(parseFilesystems(''), []);
});

test('parseCgroupV1Controllers reads mountinfo of a hybrid host (captured)', () => {
  const mountinfo = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
    '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
  ].join('\n');
  assert.deepEqual(parseCgroupV1Controllers(mountinfo), ['cpu', 'cpuacct', 'memory', 'pids']);
});

test('parseCgroupV1Controllers reads /proc/mounts as a fallback and ignores cgroup2', () => {
  const mounts = [
    'cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0',
    'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
    'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0',
  ].join('\n');
  assert.deepEqual(parseCgroupV1Controllers(mounts), ['cpu', 'memory']);
  assert.deepEqual(parseCgroupV1Controllers('cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n'), []);
});

test('moduleNames strips .ko and compression suffixes', () => {
  assert.deepEqual(moduleNames(['btrfs.ko.xz', 'overlay.ko', 'loop.ko.zst', 'README', 'btrfs.ko']), ['btrfs', 'loop', 'overlay']);
});
