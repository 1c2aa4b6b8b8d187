import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aptInstallArgv, aptUpdateArgv, bootstrap, displayAptCommand, missingPackages, planBootstrap,
  systemctlDisableArgv, unitsToDisable, APT_INSTALL_TIMEOUT_MS,
} from '../../src/sys/bootstrap.js';
import { TOOLS, evaluateHost, type CheckResult, type HostFacts } from '../../src/sys/host-checks.js';
import type { FactSource } from '../../src/sys/host-facts.js';
import type { Exec, ExecOptions } from '../../src/sys/exec.js';
import { ExecError, NotSupportedError, UserError } from '../../src/sys/errors.js';

function facts(missing: string[]): HostFacts {
  return {
    tools: Object.fromEntries(TOOLS.map((t) => [t.name, missing.includes(t.name) ? null : { path: `/usr/bin/${t.name}` }])),
    kernelRelease: '6.1.0-test',
    filesystems: ['btrfs', 'overlay'],
    modules: [],
    namespaces: ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'],
    cgroup: { v2: ['cpu', 'memory', 'pids'], v1: [] },
    loopControl: true,
  };
}

const results = (missing: string[]): CheckResult[] => evaluateHost(facts(missing));

test('missingPackages: one package per missing tool, each once, in table order', () => {
  assert.deepEqual(missingPackages(results(['nsenter', 'btrfs', 'losetup', 'mkfs.btrfs', 'etcd', 'etcdctl'])), [
    'btrfs-progs', 'util-linux', 'etcd-server', 'etcd-client',
  ]);
});

test('missingPackages ignores kernel features and present tools', () => {
  const r = evaluateHost({ ...facts([]), filesystems: [], loopControl: false });
  assert.deepEqual(missingPackages(r), []);
});

test('nothing missing: no packages, no apt commands, no units', () => {
  assert.deepEqual(planBootstrap(results([])), { packages: [], commands: [], units: [], kernel: [] });
});

test('exact apt argv: update, then install without recommends', () => {
  assert.deepEqual(aptUpdateArgv(), ['apt-get', 'update']);
  assert.deepEqual(aptInstallArgv(['runc', 'haproxy']), ['apt-get', 'install', '-y', '--no-install-recommends', 'runc', 'haproxy']);
  const plan = planBootstrap(results(['runc', 'postgres', 'haproxy']));
  assert.deepEqual(plan.commands, [
    ['apt-get', 'update'],
    ['apt-get', 'install', '-y', '--no-install-recommends', 'runc', 'haproxy', 'postgresql'],
  ]);
  assert.deepEqual(plan.units, ['haproxy', 'postgresql']);
});

test('units to disable are those of the distro services, for installed packages only', () => {
  assert.deepEqual(unitsToDisable(['runc', 'etcd-server', 'etcd-client', 'haproxy', 'keepalived', 'patroni', 'postgresql']), [
    'etcd', 'haproxy', 'keepalived', 'patroni', 'postgresql',
  ]);
  assert.deepEqual(systemctlDisableArgv('etcd'), ['systemctl', 'disable', '--now', 'etcd']);
});

test('the plan reports missing kernel features it cannot install', () => {
  const plan = planBootstrap(evaluateHost({ ...facts([]), loopControl: false }));
  assert.deepEqual(plan.kernel.map((k) => k.name), ['loop']);
  assert.deepEqual(plan.commands, []);
});

test('displayAptCommand shows the environment of the install', () => {
  assert.equal(displayAptCommand(aptUpdateArgv()), 'apt-get update');
  assert.equal(displayAptCommand(aptInstallArgv(['runc'])), 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends runc');
});

// ---- bootstrap() with a recording exec and an in-memory host ----

interface Host { missing: string[]; systemd: boolean; aptGet: boolean }

function source(host: Host): FactSource {
  const f = () => facts(host.missing);
  return {
    async readText(p) {
      if (p === '/proc/filesystems') return '\tbtrfs\nnodev\toverlay\n';
      if (p === '/sys/fs/cgroup/cgroup.controllers') return 'cpu memory pids\n';
      return undefined;
    },
    async listDir(p) { return p === '/proc/self/ns' ? f().namespaces : undefined; },
    async exists(p) { return p === '/dev/loop-control' || (p === '/run/systemd/system' && host.systemd); },
    async isExecutable() { return false; },
    async whichTool(n) {
      if (n === 'apt-get') return host.aptGet ? '/usr/bin/apt-get' : undefined;
      if (n === 'systemctl') return '/usr/bin/systemctl';
      return host.missing.includes(n) ? undefined : `/usr/bin/${n}`;
    },
    kernelRelease: () => '6.1.0-test',
    async version() { return undefined; },
  };
}

/** Records every command; `apt-get install` makes the tools present, systemctl can be told to fail. */
function recordingExec(host: Host, failUnits: string[] = []): Exec & { calls: { argv: string[]; opts: ExecOptions }[] } {
  const calls: { argv: string[]; opts: ExecOptions }[] = [];
  const fn = (async (argv: readonly string[], opts: ExecOptions = {}) => {
    calls.push({ argv: [...argv], opts });
    if (argv[0] === 'apt-get' && argv[1] === 'install') host.missing = [];
    if (argv[0] === 'systemctl' && failUnits.includes(argv[3]!)) throw new ExecError(argv, 1, `Failed to disable unit ${argv[3]}`);
    return { stdout: '', stderr: '', code: 0 };
  }) as Exec & { calls: typeof calls };
  fn.calls = calls;
  return fn;
}

test('bootstrap with nothing missing runs no command at all', async () => {
  const host = { missing: [], systemd: true, aptGet: true };
  const exec = recordingExec(host);
  const r = await bootstrap({ exec, facts: source(host), uid: 0 });
  assert.deepEqual(exec.calls, []);
  assert.deepEqual(r.packages, []);
  assert.deepEqual(r.installed, []);
  assert.deepEqual(r.missingAfter, []);
});

test('bootstrap --dry-run runs nothing but reports the commands', async () => {
  const host = { missing: ['etcd', 'haproxy'], systemd: true, aptGet: true };
  const exec = recordingExec(host);
  const r = await bootstrap({ exec, facts: source(host), uid: 1000 }, { dryRun: true });
  assert.deepEqual(exec.calls, []);
  assert.equal(r.dryRun, true);
  assert.equal(r.systemd, true);
  assert.deepEqual(r.commands[1], ['apt-get', 'install', '-y', '--no-install-recommends', 'etcd-server', 'haproxy']);
  assert.deepEqual(r.units, ['etcd', 'haproxy']);
});

test('bootstrap installs, then disables the new distro services under systemd', async () => {
  const host = { missing: ['runc', 'etcd', 'etcdctl', 'postgres'], systemd: true, aptGet: true };
  const exec = recordingExec(host, ['postgresql']);
  const log: string[] = [];
  const r = await bootstrap({ exec, facts: source(host), uid: 0, log: (l) => log.push(l) });
  assert.deepEqual(exec.calls.map((c) => c.argv), [
    ['apt-get', 'update'],
    ['apt-get', 'install', '-y', '--no-install-recommends', 'runc', 'etcd-server', 'etcd-client', 'postgresql'],
    ['systemctl', 'disable', '--now', 'etcd'],
    ['systemctl', 'disable', '--now', 'postgresql'],
  ]);
  const install = exec.calls[1]!.opts;
  assert.equal(install.env?.DEBIAN_FRONTEND, 'noninteractive');
  assert.equal(install.timeoutMs, APT_INSTALL_TIMEOUT_MS);
  assert.deepEqual(r.installed, ['runc', 'etcd-server', 'etcd-client', 'postgresql']);
  assert.deepEqual(r.disabled, ['etcd']);
  assert.equal(r.disableFailures.length, 1);
  assert.equal(r.disableFailures[0]!.unit, 'postgresql');
  assert.match(r.disableFailures[0]!.error, /Failed to disable unit postgresql/);
  assert.deepEqual(r.missingAfter, []);
  assert.match(log[0]!, /^running: apt-get update$/);
});

test('bootstrap without systemd as PID 1 leaves services alone', async () => {
  const host = { missing: ['haproxy'], systemd: false, aptGet: true };
  const exec = recordingExec(host);
  const r = await bootstrap({ exec, facts: source(host), uid: 0 });
  assert.deepEqual(exec.calls.map((c) => c.argv[0]), ['apt-get', 'apt-get']);
  assert.equal(r.systemd, false);
  assert.deepEqual(r.disabled, []);
});

test('bootstrap refuses to install when not root, and on hosts without apt-get', async () => {
  const host = { missing: ['haproxy'], systemd: false, aptGet: true };
  const exec = recordingExec(host);
  await assert.rejects(bootstrap({ exec, facts: source(host), uid: 1000 }), (e: unknown) => e instanceof UserError && /must run as root/.test(e.message) && /sudo/.test(e.fix ?? ''));
  await assert.rejects(bootstrap({ exec, facts: source({ ...host, aptGet: false }), uid: 0 }), (e: unknown) => e instanceof NotSupportedError && /haproxy/.test(e.message));
  assert.deepEqual(exec.calls, []);
});

test('a failing apt-get stops bootstrap with its ExecError and disables nothing', async () => {
  const host = { missing: ['etcd'], systemd: true, aptGet: true };
  const exec = (async (argv: readonly string[]) => {
    if (argv[1] === 'install') throw new ExecError(argv, 100, 'E: Unable to locate package etcd-server');
    return { stdout: '', stderr: '', code: 0 };
  }) as Exec;
  await assert.rejects(bootstrap({ exec, facts: source(host), uid: 0 }), (e: unknown) => e instanceof ExecError && e.exitCode === 100);
});
