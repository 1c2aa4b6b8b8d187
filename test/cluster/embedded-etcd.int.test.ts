import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { EmbeddedEtcd } from '../../src/cluster/embedded-etcd.js';
import { EtcdStore } from '../../src/cluster/etcd-store.js';
import { exec } from '../../src/sys/exec.js';
import { testEtcd, type TestEtcd } from '../helpers/etcd.js';

let t: TestEtcd;
before(async () => { t = await testEtcd(); });
after(async () => { await t.cleanup(); });

/** Running (a zombie not yet reaped by this process, etcd's parent here, counts as gone: kill(pid, 0) would still succeed on it). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
};
const starter = fileURLToPath(new URL('./etcd-starter.js', import.meta.url));

test('starts a one-member etcd: healthy, PID file, ports recorded, log written', async () => {
  const r = await t.etcd.ensureRunning();
  t.pids.add(r.pid);
  assert.equal(r.adopted, false);
  assert.equal(await t.etcd.health(), true);
  assert.equal((await readFile(t.etcd.layout.pidFile, 'utf8')).trim(), String(r.pid));
  const rec = JSON.parse(await readFile(t.etcd.layout.config, 'utf8'));
  assert.equal(rec.name, 'h1');
  assert.notEqual(rec.clientPort, rec.peerPort);
  assert.equal(t.etcd.endpoint, `http://127.0.0.1:${rec.clientPort}`);
  assert.ok((await stat(t.etcd.layout.log)).size > 0);
  const cmdline = (await readFile(`/proc/${r.pid}/cmdline`, 'utf8')).split('\0');
  assert.ok(cmdline.includes('--listen-client-urls'));
  assert.equal(cmdline[cmdline.indexOf('--initial-cluster-state') + 1], 'new');
});

test('a new EmbeddedEtcd on the same data dir adopts the running one', async () => {
  const pid = await t.etcd.pid();
  const again = new EmbeddedEtcd({ dataDir: t.dir });
  assert.deepEqual(await again.ensureRunning(), { pid, adopted: true });
  assert.equal(again.endpoint, t.etcd.endpoint);
});

test('etcd outlives the agent that started it; the next agent adopts it', async () => {
  await t.etcd.stop();
  const first = JSON.parse((await exec([process.execPath, starter, t.dir], { timeoutMs: 30_000 })).stdout) as { pid: number; adopted: boolean };
  t.pids.add(first.pid);
  assert.equal(first.adopted, false);
  // the starter process has exited; its etcd has not
  assert.equal(alive(first.pid), true);
  assert.equal(await t.etcd.health(), true);
  const second = JSON.parse((await exec([process.execPath, starter, t.dir], { timeoutMs: 30_000 })).stdout);
  assert.deepEqual(second, { pid: first.pid, adopted: true });
  assert.deepEqual(await new EmbeddedEtcd({ dataDir: t.dir }).ensureRunning(), { pid: first.pid, adopted: true });
});

test('a restart after stop keeps the ports and the data', async () => {
  const store = EtcdStore.connect(t.etcd.endpoint);
  try {
    await store.put('probe', 'kept');
  } finally {
    await store.close();
  }
  const endpoint = t.etcd.endpoint;
  await t.etcd.stop();
  const r = await new EmbeddedEtcd({ dataDir: t.dir }).ensureRunning();
  t.pids.add(r.pid);
  assert.equal(r.adopted, false);
  assert.equal(t.etcd.endpoint, endpoint);
  const cmdline = (await readFile(`/proc/${r.pid}/cmdline`, 'utf8')).split('\0');
  assert.equal(cmdline[cmdline.indexOf('--initial-cluster-state') + 1], 'existing');
  const again = EtcdStore.connect(endpoint);
  try {
    assert.equal(await again.getString('probe'), 'kept');
  } finally {
    await again.close();
  }
});

test('a PID file naming another process is not trusted', async () => {
  const pid = (await t.etcd.pid())!;
  await t.etcd.stop();
  assert.equal(alive(pid), false);
  await writeFile(t.etcd.layout.pidFile, `${process.pid}\n`);
  assert.equal(await t.etcd.pid(), undefined);
  const r = await t.etcd.ensureRunning();
  t.pids.add(r.pid);
  assert.equal(r.adopted, false);
  assert.notEqual(r.pid, process.pid);
});

test('stop: SIGTERM, process gone, PID file removed, health false; stopping again is a no-op', async () => {
  const pid = (await t.etcd.pid())!;
  await t.etcd.stop();
  assert.equal(alive(pid), false);
  await assert.rejects(stat(t.etcd.layout.pidFile), { code: 'ENOENT' });
  assert.equal(await t.etcd.health(500), false);
  await t.etcd.stop();
});
