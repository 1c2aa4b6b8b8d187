/**
 * Integration: disk limits on a real btrfs loop pool (quota groups), through the JailManager
 * as the agent uses it. Two running jails on a 512M pool, 96M each: one writes until it stops
 * and gets "Disk quota exceeded" at its limit, the pool keeps free space, the other jail still
 * writes; raising the limit of the running jail lets it write more without a restart; refused
 * --disk values change nothing. `ip` runs in a namespace of the test's own; after() removes the
 * jails, the bridge, the pool (unmount, loop device), the namespace and the data dir, each step
 * even when an earlier one failed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statfs } from 'node:fs/promises';
import { whichTool, type Exec } from '../../src/sys/exec.js';
import { UserError } from '../../src/sys/errors.js';
import { openPool } from '../../src/storage/pools.js';
import type { JailManager } from '../../src/jail/manager.js';
import { nsManager, type NsManager } from '../helpers/ns-manager.js';
import { stateOf } from '../helpers/loop-pools.js';

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (a loop device, btrfs, a network namespace)';
  for (const t of ['ip', 'nsenter', 'btrfs', 'mkfs.btrfs', 'losetup', 'runc', 'dd']) if (!(await whichTool(t))) return `needs ${t} on PATH`;
  return undefined;
}

const skip = await skipReason();
const MB = 1024 * 1024;
let fx: NsManager | undefined;
let dataDir: string | undefined;
let m: JailManager | undefined;
let inNs: Exec;

before(async () => {
  if (skip) return;
  fx = await nsManager({ prefix: 'cbdisk', subnet: '10.231.207.0/24', pool: { driver: 'btrfs', size: 512 * MB } });
  ({ dataDir, m, inNs } = fx);
});

after(async () => {
  await fx?.teardown();
});

/** dd of `mb` MiB of zeros to PATH in the jail, synced; its exit code and stderr. */
async function fill(jail: string, path: string, mb: number): Promise<{ exitCode: number; stderr: string }> {
  const r = await m!.exec(jail, { command: ['/usr/bin/dd', 'if=/dev/zero', `of=${path}`, 'bs=1M', `count=${mb}`, 'conv=fsync'], timeoutSeconds: 120 });
  return { exitCode: r.exitCode, stderr: r.stderr };
}

async function poolFree(): Promise<number> {
  const pool = await openPool({ exec: inNs, dataDir: dataDir! });
  const s = await statfs(pool.pool.mountpoint);
  return s.bavail * s.bsize;
}

test('a jail that fills its disk stops at its limit with EDQUOT; the pool keeps free space; the other jail still writes; raising the limit needs no restart', { skip, timeout: 300_000 }, async () => {
  const mgr = m!;
  await mgr.open();
  const sleep = ['/usr/bin/sleep', 'infinity'];
  await mgr.create({ name: 'full', image: 'app:v1', disk: '96M', command: sleep, start: true });
  await mgr.create({ name: 'other', image: 'app:v1', disk: '96M', command: sleep, start: true });
  const pidBefore = (await mgr.inspect('full')).pid;

  const r = await fill('full', '/var/fill', 400);
  assert.notEqual(r.exitCode, 0, 'dd past the limit fails');
  assert.match(r.stderr, /Disk quota exceeded/, `the jail sees EDQUOT:\n${r.stderr}`);
  const full = await mgr.inspect('full');
  assert.equal(full.spec.diskBytes, 96 * MB);
  assert.ok(full.disk && full.disk.enforced && full.disk.limitBytes === 96 * MB, JSON.stringify(full.disk));
  assert.ok(full.disk.usedBytes! > 80 * MB && full.disk.usedBytes! <= 96 * MB, `used ${full.disk.usedBytes}`);
  assert.ok(await poolFree() > 200 * MB, `the pool keeps free space: ${await poolFree()}`);

  const o = await fill('other', '/var/data', 40);
  assert.equal(o.exitCode, 0, `the other jail still writes:\n${o.stderr}`);
  const listed = await mgr.list();
  assert.deepEqual(listed.map((j) => [j.name, j.disk?.limitBytes]), [['full', 96 * MB], ['other', 96 * MB]]);
  assert.ok(listed[1]!.disk!.usedBytes! >= 40 * MB, 'jail ls shows the other jail\'s use');

  // raising the running jail's limit: it writes again, same process, no restart
  await mgr.setDisk('full', '200M');
  const more = await fill('full', '/var/more', 60);
  assert.equal(more.exitCode, 0, `after raising the limit the jail writes again:\n${more.stderr}`);
  const after1 = await mgr.inspect('full');
  assert.equal(after1.pid, pidBefore, 'the jail was not restarted');
  assert.equal(after1.disk?.limitBytes, 200 * MB);
  // lowering below what it holds is refused
  await assert.rejects(mgr.setDisk('full', '64M'), (e: unknown) => e instanceof UserError && /already holds/.test(e.message) && Boolean(e.fix));
});

test('--disk refusals: too small, larger than the pool, not a size; nothing is made', { skip }, async () => {
  const mgr = m!;
  const before0 = await stateOf(dataDir!);
  const cases: [string, RegExp][] = [
    ['1M', /^--disk: "1M" is too small$/],
    ['5G', /^--disk: 5\.00G is more than the pool's size \(512M\)$/],
    ['lots', /^--disk: invalid size "lots"$/],
  ];
  for (const [disk, re] of cases) {
    await assert.rejects(mgr.create({ name: 'bad', image: 'app:v1', disk, command: ['/bin/true'] }), (e: unknown) => e instanceof UserError && re.test(e.message) && Boolean(e.fix), disk);
  }
  assert.deepEqual(await stateOf(dataDir!), before0, 'the data dir, mounts and loop devices are unchanged');
  assert.ok(!(await mgr.list()).some((j) => j.name === 'bad'));
});
